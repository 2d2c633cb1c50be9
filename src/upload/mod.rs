//! Publishing to object storage (`[publish] target = "s3://bucket/prefix"`):
//! after the output folder is written, what changed in it is uploaded to an
//! S3-compatible store that a CDN serves.
//!
//! Only what changed is sent: the store keeps the digest of every object as
//! uploaded, and an archive page, once uploaded, is never read again. Objects
//! go in an order that never shows a broken site: archives, then the
//! language feeds, then the rest, then the combined feeds, then the pages, the
//! top `index.html` last; an upload that fails stops there, leaves every
//! object that was in place, and the next cycle sends the rest. Files gone
//! from the output folder (archives past retention) are deleted last.

mod s3;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use object_store::path::Path as ObjectPath;
use object_store::{Attribute, Attributes, ObjectStore, ObjectStoreExt, PutOptions, PutPayload};
use xxhash_rust::xxh3::xxh3_64;

use crate::config::Config;
use crate::config::publish::Target;
use crate::publish::archive;
use crate::store::{Store, StoreError};

/// One request to the store; a stuck one must not hold the cycle for ever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The purge command's time to finish.
const PURGE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error(
        "no credentials for object storage: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the systemd credentials s3-access-key-id and s3-secret-access-key"
    )]
    NoCredentials,
    #[error("[publish] target {0}")]
    Target(String),
    #[error("object storage client: {0}")]
    Client(String),
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("uploading {key}: {message}")]
    Put { key: String, message: String },
    #[error("deleting {key}: {message}")]
    Delete { key: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one upload did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UploadReport {
    pub puts: usize,
    pub deletes: usize,
    pub bytes: u64,
    /// The paths (relative to the output folder) uploaded or deleted.
    pub changed: Vec<PathBuf>,
    /// Why the upload stopped early, if it did; the next cycle goes on.
    pub error: Option<String>,
}

/// Uploads what changed in the output folder to `[publish] target`, if one
/// is set; never fails the cycle: what went wrong is in the report.
pub async fn upload(config: &Config, store: &Store, now: DateTime<Utc>) -> Option<UploadReport> {
    let target = config.publish.target.as_deref()?;
    let mut report = UploadReport::default();
    if let Err(e) = run(config, target, store, now, &mut report).await {
        tracing::error!(error = %e, "upload to object storage stopped; the objects in place stay, the next cycle goes on");
        report.error = Some(e.to_string());
    }
    if report.puts + report.deletes > 0 {
        tracing::info!(
            puts = report.puts,
            deletes = report.deletes,
            bytes = report.bytes,
            "uploaded to object storage"
        );
        purge(config, &report.changed).await;
    }
    Some(report)
}

async fn run(
    config: &Config,
    target: &str,
    store: &Store,
    now: DateTime<Utc>,
    report: &mut UploadReport,
) -> Result<(), UploadError> {
    let target = Target::parse(target).map_err(UploadError::Target)?;
    let client = s3::client(&config.publish, &target)?;
    let out = config.output_dir();
    let cache_control = format!(
        "public, max-age={}",
        crate::cycle::schedule::publishing_interval(config).as_secs()
    );
    let mut uploaded = store.uploads()?;
    let files = in_order(&out)?;
    for relative in &files {
        let key = key_of(&target, relative);
        if is_archive(relative) && uploaded.contains_key(&key) {
            // Written once and never changed.
            continue;
        }
        let path = out.join(relative);
        let bytes = std::fs::read(&path).map_err(|source| UploadError::Read {
            path: path.clone(),
            source,
        })?;
        let digest = xxh3_64(&bytes);
        if uploaded.get(&key) == Some(&digest) {
            continue;
        }
        let size = bytes.len() as u64;
        put(&client, &key, relative, bytes, &cache_control).await?;
        store.record_upload(&key, digest, size, now)?;
        uploaded.insert(key, digest);
        report.puts += 1;
        report.bytes += size;
        report.changed.push(relative.clone());
    }
    // Only once everything is in place: a reader may still follow a link to
    // an archive the current pages no longer name.
    let present: std::collections::HashSet<String> =
        files.iter().map(|f| key_of(&target, f)).collect();
    let mut gone: Vec<&String> = uploaded
        .keys()
        .filter(|k| k.starts_with(&target.prefix) && !present.contains(*k))
        .collect();
    gone.sort();
    for key in gone {
        tokio::time::timeout(
            REQUEST_TIMEOUT,
            client.delete(&ObjectPath::from(key.as_str())),
        )
        .await
        .map_err(|_| UploadError::Delete {
            key: key.clone(),
            message: "timed out".to_string(),
        })?
        .map_err(|e| UploadError::Delete {
            key: key.clone(),
            message: e.to_string(),
        })?;
        store.forget_upload(key)?;
        report.deletes += 1;
        report
            .changed
            .push(PathBuf::from(&key[target.prefix.len()..]));
    }
    Ok(())
}

/// Sends one object with the headers a reader must get with it.
async fn put(
    client: &Arc<dyn ObjectStore>,
    key: &str,
    relative: &Path,
    bytes: Vec<u8>,
    cache_control: &str,
) -> Result<(), UploadError> {
    let mut attributes = Attributes::new();
    let (served_as, encoding) = match relative.extension().and_then(|e| e.to_str()) {
        Some("gz") => (relative.with_extension(""), Some("gzip")),
        _ => (relative.to_path_buf(), None),
    };
    attributes.insert(
        Attribute::ContentType,
        crate::serve::content_type(&served_as).into(),
    );
    attributes.insert(Attribute::CacheControl, cache_control.to_string().into());
    if let Some(encoding) = encoding {
        attributes.insert(Attribute::ContentEncoding, encoding.into());
    }
    let options = PutOptions {
        attributes,
        ..PutOptions::default()
    };
    let failed = |message: String| UploadError::Put {
        key: key.to_string(),
        message,
    };
    tokio::time::timeout(
        REQUEST_TIMEOUT,
        client.put_opts(&ObjectPath::from(key), PutPayload::from(bytes), options),
    )
    .await
    .map_err(|_| failed("timed out".to_string()))?
    .map_err(|e| failed(e.to_string()))?;
    Ok(())
}

/// The object key of a file of the output folder.
fn key_of(target: &Target, relative: &Path) -> String {
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    format!("{}{}", target.prefix, parts.join("/"))
}

fn is_archive(relative: &Path) -> bool {
    relative.starts_with(archive::FOLDER)
}

/// The files of the output folder in upload order (see the module's words),
/// relative to it. Temporary files of a writer (hidden names) are left out,
/// and so are brotli siblings: object storage cannot choose a body by the
/// reader's Accept-Encoding, the gzip sibling serves CDNs that can.
fn in_order(out: &Path) -> Result<Vec<PathBuf>, UploadError> {
    let mut files = Vec::new();
    walk(out, Path::new(""), &mut files)?;
    files.sort_by_key(|f| order_key(f));
    Ok(files)
}

fn walk(root: &Path, relative: &Path, files: &mut Vec<PathBuf>) -> Result<(), UploadError> {
    let dir = root.join(relative);
    let read = |source| UploadError::Read {
        path: dir.clone(),
        source,
    };
    for entry in std::fs::read_dir(&dir).map_err(read)? {
        let entry = entry.map_err(read)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.ends_with(".br") {
            continue;
        }
        let path = relative.join(name.as_ref());
        if entry.file_type().map_err(read)?.is_dir() {
            walk(root, &path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}

/// A file's place in the upload order: by rank, then by name, a gzip sibling
/// just before its file.
fn order_key(relative: &Path) -> (u8, PathBuf, bool) {
    let is_sibling = relative.extension().is_some_and(|e| e == "gz");
    let main = if is_sibling {
        relative.with_extension("")
    } else {
        relative.to_path_buf()
    };
    (rank(relative), main, !is_sibling)
}

/// Where a file goes in the upload order: what pages and feeds link to goes
/// before them.
fn rank(relative: &Path) -> u8 {
    let name = relative
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .trim_end_matches(".gz");
    let top = relative.components().count() == 1;
    if is_archive(relative) {
        0
    } else if name == "index.html" {
        if top { 5 } else { 4 }
    } else if !top {
        1
    } else if name.starts_with("feed.") && !name.ends_with(".css") {
        3
    } else {
        2
    }
}

/// Runs `[publish] purge_command` with the URL of every changed file; a
/// failure is only logged.
async fn purge(config: &Config, changed: &[PathBuf]) {
    let Some((program, args)) = config.publish.purge_command.split_first() else {
        return;
    };
    let urls: Vec<String> = changed
        .iter()
        .filter_map(|p| crate::publish::url_of(config, p).ok())
        .collect();
    let run = tokio::process::Command::new(program)
        .args(args)
        .args(&urls)
        .kill_on_drop(true)
        .status();
    match tokio::time::timeout(PURGE_TIMEOUT, run).await {
        Ok(Ok(status)) if status.success() => {
            tracing::info!(urls = urls.len(), "CDN purge ran");
        }
        Ok(Ok(status)) => tracing::warn!(%status, program, "CDN purge failed"),
        Ok(Err(e)) => tracing::warn!(error = %e, program, "CDN purge could not start"),
        Err(_) => tracing::warn!(program, "CDN purge timed out"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_go_after_what_they_link_to() {
        let mut files: Vec<PathBuf> = [
            "index.html",
            "feed.xml",
            "feed.xml.gz",
            "pl/index.html",
            "pl/feed.xml",
            "sources.opml",
            "feed.pl.css",
            "archive/2026-10.xml",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        files.sort_by_key(|f| order_key(f));
        let order: Vec<&str> = files.iter().filter_map(|f| f.to_str()).collect();
        assert_eq!(
            order,
            [
                "archive/2026-10.xml",
                "pl/feed.xml",
                "feed.pl.css",
                "sources.opml",
                "feed.xml.gz",
                "feed.xml",
                "pl/index.html",
                "index.html"
            ]
        );
    }

    #[test]
    fn keys_live_under_the_prefix() {
        let target = Target::parse("s3://news-krakow/site").unwrap();
        assert_eq!(
            key_of(&target, Path::new("pl/feed.xml")),
            "site/pl/feed.xml"
        );
    }
}
