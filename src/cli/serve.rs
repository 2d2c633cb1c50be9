//! `hejnal serve`: the HTTP server alone, over files another node publishes.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hejnal::config::Config;
use hejnal::serve::status::Status;
use hejnal::serve::{self, Site};

pub async fn serve(config_path: &Path, listen: Option<String>) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
    let addr = listen
        .or_else(|| config.server.listen.clone())
        .unwrap_or_else(|| "127.0.0.1:8080".to_string());
    let listener = serve::bind(&addr).await?;
    tracing::info!(
        dir = %config.output_dir().display(),
        "serving without fetching at {}",
        hejnal::daemon::served_url(&listener, &addr)
    );
    let site = Site::new(
        config.output_dir(),
        Arc::new(Status::serve_only().serving(config.output_dir())),
        Duration::from_secs(300),
    );
    sd_notify::notify(&[sd_notify::NotifyState::Ready]).ok();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    serve::serve(listener, site, async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    })
    .await?;
    Ok(())
}
