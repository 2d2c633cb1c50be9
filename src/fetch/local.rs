//! Sources on this machine, named by `file:` URLs: a CMS that writes its feed
//! to disk, and the sample feeds under examples/. The file's modification time
//! stands in for `Last-Modified`, so an unchanged file is not read again.

use std::time::Duration;

use url::Url;

use super::{Conditional, FetchError, FetchOutcome, Fetched};

pub(super) async fn read(
    raw: &str,
    conditional: &Conditional,
    cap: u64,
    deny_private_networks: bool,
) -> Result<FetchOutcome, FetchError> {
    if deny_private_networks {
        return Err(FetchError::BadUrl(format!(
            "{raw} (files on this machine are not read while deny_private_networks is on)"
        )));
    }
    let url = Url::parse(raw).map_err(|_| FetchError::BadUrl(raw.to_owned()))?;
    let path = url.to_file_path().map_err(|()| {
        FetchError::BadUrl(format!(
            "{raw} (a file URL names a file on this machine: file:///path/to/feed.xml)"
        ))
    })?;
    let failed = |e: std::io::Error| FetchError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let meta = tokio::fs::metadata(&path).await.map_err(failed)?;
    if !meta.is_file() {
        return Err(FetchError::File {
            path: path.display().to_string(),
            reason: "not a regular file".to_owned(),
        });
    }
    let modified = meta
        .modified()
        .ok()
        .map(|t| chrono::DateTime::<chrono::Utc>::from(t).to_rfc2822());
    if modified.is_some() && modified == conditional.last_modified {
        return Ok(FetchOutcome::NotModified { max_age: None });
    }
    if meta.len() > cap {
        return Err(FetchError::TooLarge { limit: cap });
    }
    let body = tokio::fs::read(&path).await.map_err(failed)?;
    // Read while it was growing past the cap: the file changed under us.
    if body.len() as u64 > cap {
        return Err(FetchError::TooLarge { limit: cap });
    }
    Ok(FetchOutcome::Fetched(Fetched {
        body,
        content_type: None,
        etag: None,
        last_modified: modified,
        final_url: url.to_string(),
        moved_to: None,
        max_age: None::<Duration>,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_of(path: &std::path::Path) -> String {
        Url::from_file_path(path).unwrap().to_string()
    }

    #[tokio::test]
    async fn a_local_feed_is_read_then_not_modified_until_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.xml");
        std::fs::write(&path, "<rss version=\"2.0\"><channel/></rss>").unwrap();
        let url = url_of(&path);
        let Ok(FetchOutcome::Fetched(first)) =
            read(&url, &Conditional::default(), 1024, false).await
        else {
            panic!("not read");
        };
        assert!(first.body.starts_with(b"<rss"));
        let again = Conditional {
            etag: None,
            last_modified: first.last_modified.clone(),
        };
        assert!(matches!(
            read(&url, &again, 1024, false).await,
            Ok(FetchOutcome::NotModified { .. })
        ));
        assert!(matches!(
            read(&url, &again, 8, false).await,
            Ok(FetchOutcome::NotModified { .. })
        ));
        let stale = Conditional {
            etag: None,
            last_modified: Some("Mon, 1 Jan 2001 00:00:00 +0000".into()),
        };
        assert!(matches!(
            read(&url, &stale, 8, false).await,
            Err(FetchError::TooLarge { limit: 8 })
        ));
    }

    #[tokio::test]
    async fn a_missing_file_a_folder_and_a_remote_host_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = url_of(&dir.path().join("gone.xml"));
        let err = read(&missing, &Conditional::default(), 1024, false)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("gone.xml") && err.contains("No such file"),
            "{err}"
        );
        let folder = read(&url_of(dir.path()), &Conditional::default(), 1024, false)
            .await
            .unwrap_err()
            .to_string();
        assert!(folder.contains("not a regular file"), "{folder}");
        let remote = read(
            "file://cms.example/feed.xml",
            &Conditional::default(),
            1024,
            false,
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(remote.contains("file:///path/to/feed.xml"), "{remote}");
        let denied = read(&missing, &Conditional::default(), 1024, true)
            .await
            .unwrap_err()
            .to_string();
        assert!(denied.contains("deny_private_networks"), "{denied}");
    }
}
