//! `[publish]`: where the published files go besides `output_dir`.

use serde::Deserialize;

/// The output folder is always written (`hejnal serve` reads it); with a
/// `target`, each cycle also uploads what changed in it to object storage.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublishConfig {
    /// `s3://bucket` or `s3://bucket/prefix`.
    pub target: Option<String>,
    /// The S3 API's address, for any provider but AWS (R2, MinIO, Ceph, …).
    pub endpoint: Option<String>,
    /// The bucket's region; providers that have none take any name.
    pub region: Option<String>,
    /// Addresses objects as `endpoint/bucket/key` instead of `bucket.endpoint/key`.
    pub path_style: bool,
    /// A program (and its first arguments) run after an upload that changed
    /// anything, with the URL of each changed file appended: a CDN purge.
    pub purge_command: Vec<String>,
}

/// A bucket and the prefix the published files go under in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub bucket: String,
    /// Empty, or ends in '/'.
    pub prefix: String,
}

impl Target {
    /// Reads `s3://bucket` or `s3://bucket/prefix`; the error follows "KEY
    /// in TABLE", as `hejnal check` prints it.
    pub fn parse(text: &str) -> Result<Target, String> {
        let Some(rest) = text.strip_prefix("s3://") else {
            return Err(format!(
                "is \"{text}\"; expected s3://bucket or s3://bucket/prefix"
            ));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // S3's rules for new buckets: 3-63 characters, lower-case letters,
        // digits, dots and hyphens.
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !bucket_ok {
            return Err(format!(
                "names the bucket \"{bucket}\"; a bucket name is 3 to 63 lower-case letters, digits, dots and hyphens"
            ));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|part| part == "." || part == "..") {
            return Err(format!(
                "has the prefix \"{prefix}\", which climbs out of itself"
            ));
        }
        Ok(Target {
            bucket: bucket.to_string(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn targets_name_a_bucket_and_a_prefix() {
        let t = Target::parse("s3://news-krakow/hejnal/").unwrap();
        assert_eq!(
            (t.bucket.as_str(), t.prefix.as_str()),
            ("news-krakow", "hejnal/")
        );
        assert_eq!(Target::parse("s3://news-krakow").unwrap().prefix, "");
        for bad in [
            "news-krakow",
            "s3://",
            "s3://A_bucket/x",
            "s3://ab",
            "s3://bucket/../x",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
