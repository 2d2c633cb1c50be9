//! Where relative `database` and `output_dir` paths land.
//!
//! Under systemd, feeds.toml sits in read-only /etc and the service may write
//! only to the directories systemd made for it (`StateDirectory=`,
//! `CacheDirectory=`), which it names in `$STATE_DIRECTORY` and
//! `$CACHE_DIRECTORY`. Relative paths go there when they are set, and next to
//! feeds.toml otherwise, so one feeds.toml works from a checkout and installed.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceDirs {
    /// `$STATE_DIRECTORY`: the database.
    pub state: Option<PathBuf>,
    /// `$CACHE_DIRECTORY`: the published files, which a new cycle writes again.
    pub cache: Option<PathBuf>,
}

impl ServiceDirs {
    /// The directories systemd set for this process, if any.
    pub fn from_env() -> ServiceDirs {
        ServiceDirs::from(|name| std::env::var_os(name))
    }

    pub fn from(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> ServiceDirs {
        // systemd joins several directories with ':'; the first is the service's own.
        let first = |name: &str| {
            env(name).and_then(|value| {
                let value = value.to_string_lossy().into_owned();
                let first = value.split(':').next().unwrap_or("").to_string();
                (!first.is_empty()).then(|| PathBuf::from(first))
            })
        };
        ServiceDirs {
            state: first("STATE_DIRECTORY"),
            cache: first("CACHE_DIRECTORY"),
        }
    }
}

/// `path` as is when absolute, else under `dir` if there is one, else under `base`.
pub fn resolve(path: &Path, dir: Option<&Path>, base: &Path) -> PathBuf {
    dir.unwrap_or(base).join(path)
}

/// A source `url = "file:feeds/krakow.xml"` (a path with no leading '/') names
/// a file next to feeds.toml; the fetcher needs a whole `file:///…` URL.
pub fn file_url(url: &str, base: &Path) -> Option<String> {
    let path = url.strip_prefix("file:")?;
    if path.starts_with('/') {
        return None;
    }
    let absolute = std::path::absolute(base.join(path)).ok()?;
    url::Url::from_file_path(absolute).ok().map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn relative_paths_go_to_the_service_directories_when_systemd_sets_them() {
        let dirs = ServiceDirs::from(env(&[
            ("STATE_DIRECTORY", "/var/lib/hejnal:/var/lib/other"),
            ("CACHE_DIRECTORY", "/var/cache/hejnal"),
        ]));
        let etc = Path::new("/etc/hejnal");
        assert_eq!(
            resolve(Path::new("hejnal.db"), dirs.state.as_deref(), etc),
            Path::new("/var/lib/hejnal/hejnal.db")
        );
        assert_eq!(
            resolve(Path::new("public"), dirs.cache.as_deref(), etc),
            Path::new("/var/cache/hejnal/public")
        );
        // An absolute path is the operator's choice and stays.
        assert_eq!(
            resolve(Path::new("/srv/hejnal.db"), dirs.state.as_deref(), etc),
            Path::new("/srv/hejnal.db")
        );
    }

    #[test]
    fn a_relative_file_url_names_a_file_next_to_feeds_toml() {
        let url = file_url("file:feeds/kraków.xml", Path::new("/srv/hejnal")).unwrap();
        assert_eq!(url, "file:///srv/hejnal/feeds/krak%C3%B3w.xml");
        assert_eq!(file_url("file:///srv/x.xml", Path::new("/etc")), None);
        assert_eq!(file_url("https://krakow.pl/rss", Path::new("/etc")), None);
    }

    #[test]
    fn without_systemd_relative_paths_sit_next_to_feeds_toml() {
        let dirs = ServiceDirs::from(env(&[("STATE_DIRECTORY", "")]));
        assert_eq!(dirs, ServiceDirs::default());
        assert_eq!(
            resolve(
                Path::new("hejnal.db"),
                dirs.state.as_deref(),
                Path::new("conf")
            ),
            Path::new("conf/hejnal.db")
        );
    }
}
