//! `hejnal once`: one cycle over every enabled source, then a summary.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use hejnal::alerts::Alerter;
use hejnal::config::Config;
use hejnal::cycle::{self, Control, CycleReport, Selection, SourceOutcome};
use hejnal::fetch::Fetcher;
use hejnal::store::Store;

pub async fn once(config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = Config::load(config_path)?;
    let db = config.database_path();
    // The store's own error names the file.
    let mut store = Store::open(&db)?;
    let fetcher = Arc::new(Fetcher::new(&config.fetch, &config.user_agent())?);
    let report = cycle::run(
        &config,
        &mut store,
        &fetcher,
        Selection::All,
        &Arc::new(Control::default()),
    )
    .await?;
    print!("{}", summary(&report));
    // The cycle published; alerts that cannot be sent are said, not fatal.
    let mut alerter = Alerter::new(&config);
    let limit = std::time::Duration::from_secs(config.alerts.timeout_secs.max(1) + 1);
    let alerts = match alerter.after_cycle(&config, &store, chrono::Utc::now()) {
        Ok(_) => alerter.finish(&store, limit).await,
        Err(e) => Err(e),
    };
    match alerts {
        Ok(a) if a.delivered + a.failed > 0 => println!(
            "alerts: {} sent, {} failed (tried again next time)",
            a.delivered, a.failed
        ),
        Ok(_) => {}
        Err(e) => println!("alerts: not sent ({e}); tried again next time"),
    }
    // Where to look: a first run offline publishes an empty feed, and nothing
    // else would say where it went.
    println!(
        "published in {} (open its index.html, or `hejnal serve` it)",
        config.output_dir().display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn summary(report: &CycleReport) -> String {
    let mut out = format!(
        "sources: {} ok, {} not modified, {} failed\n",
        report.ok(),
        report.not_modified(),
        report.failed()
    );
    for s in &report.sources {
        if let SourceOutcome::Failed(reason) = &s.outcome {
            out.push_str(&format!("  failed {}: {reason}\n", s.id));
        }
    }
    out.push_str(&format!(
        "entries: {} new, {} updated; stories: {} new\n",
        report.new_entries, report.updated_entries, report.new_stories
    ));
    if report.written.is_empty() {
        out.push_str("files: nothing changed\n");
    } else {
        out.push_str(&format!("files written: {}\n", report.written.len()));
        for path in &report.written {
            out.push_str(&format!("  {}\n", path.display()));
        }
    }
    if let Some(upload) = &report.upload {
        out.push_str(&format!(
            "uploaded: {} objects ({} bytes), {} deleted\n",
            upload.puts, upload.bytes, upload.deletes
        ));
        if let Some(error) = &upload.error {
            out.push_str(&format!("  upload stopped: {error}\n"));
        }
        out.push_str(&format!("upload took {:.2?}\n", report.stages.upload));
    }
    let t = &report.stages;
    out.push_str(&format!(
        "took {:.2?} (fetch {:.2?}, store {:.2?}, dedupe {:.2?}, publish {:.2?}; \
         parse {:.2?} and clean {:.2?} summed over parallel tasks)\n",
        report.elapsed, t.fetch, t.store, t.dedupe, t.publish, t.parse, t.clean
    ));
    out
}
