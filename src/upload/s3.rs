//! The S3 client: bucket, endpoint and credentials, which come from the
//! environment or systemd's credentials, never from feeds.toml.

use std::path::Path;
use std::sync::Arc;

use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::{BackoffConfig, ObjectStore, RetryConfig};

use super::UploadError;
use crate::config::publish::{PublishConfig, Target};

/// The names of the credentials, as environment variables and as files in
/// `$CREDENTIALS_DIRECTORY` (systemd's `LoadCredential=`).
const KEY_ID: (&str, &str) = ("AWS_ACCESS_KEY_ID", "s3-access-key-id");
const SECRET: (&str, &str) = ("AWS_SECRET_ACCESS_KEY", "s3-secret-access-key");
const TOKEN: (&str, &str) = ("AWS_SESSION_TOKEN", "s3-session-token");

/// A request that fails is tried again a few times within half a minute; an
/// upload that still fails waits for the next cycle rather than hold this one.
const RETRY: RetryConfig = RetryConfig {
    backoff: BackoffConfig {
        init_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_secs(5),
        base: 2.0,
    },
    max_retries: 3,
    retry_timeout: Duration::from_secs(30),
};

/// A client for `target`, with the credentials found.
pub(super) fn client(
    settings: &PublishConfig,
    target: &Target,
) -> Result<Arc<dyn ObjectStore>, UploadError> {
    // TLS uses ring, as the fetcher does; whichever comes first installs it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let key_id = credential(KEY_ID).ok_or(UploadError::NoCredentials)?;
    let secret = credential(SECRET).ok_or(UploadError::NoCredentials)?;
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(&target.bucket)
        .with_region(settings.region.as_deref().unwrap_or("us-east-1"))
        .with_access_key_id(key_id)
        .with_secret_access_key(secret)
        .with_virtual_hosted_style_request(!settings.path_style)
        .with_retry(RETRY);
    if let Some(token) = credential(TOKEN) {
        builder = builder.with_token(token);
    }
    if let Some(endpoint) = &settings.endpoint {
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"));
    }
    let store = builder
        .build()
        .map_err(|e| UploadError::Client(e.to_string()))?;
    Ok(Arc::new(store))
}

/// A credential from its environment variable, else from systemd's credential file.
fn credential((variable, file): (&str, &str)) -> Option<String> {
    let from_env = std::env::var(variable).ok();
    let from_file = || {
        let dir = std::env::var_os("CREDENTIALS_DIRECTORY")?;
        std::fs::read_to_string(Path::new(&dir).join(file)).ok()
    };
    from_env
        .or_else(from_file)
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
}
