//! Adding sources to feeds.toml without disturbing a byte of what is already
//! there: new `[[source]]` blocks are appended as text, the result is checked
//! like any feeds.toml, and the file is replaced atomically.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use unicode_normalization::UnicodeNormalization;

use super::{Config, check::valid_slug, render};

/// Longest id a slug is cut to.
const MAX_SLUG: usize = 40;

/// A source about to be added.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NewSource {
    pub id: String,
    pub name: String,
    pub city: String,
    pub country: String,
    pub url: String,
    pub lang: String,
}

impl NewSource {
    /// The `[[source]]` block, every value quoted and escaped as TOML.
    pub fn to_toml(&self) -> String {
        let mut out = String::from("[[source]]\n");
        let pairs = [
            ("id", &self.id),
            ("name", &self.name),
            ("city", &self.city),
            ("country", &self.country),
            ("url", &self.url),
            ("lang", &self.lang),
        ];
        for (key, value) in pairs {
            // Empty optional values would only be noise in the file.
            if !value.is_empty() || matches!(key, "id" | "name" | "url" | "lang") {
                out.push_str(&format!("{key} = {}\n", toml_string(value)));
            }
        }
        out
    }
}

fn toml_string(value: &str) -> String {
    toml_edit::Value::from(value).to_string().trim().to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("a source with id \"{0}\" is already in the configuration")]
    DuplicateId(String),
    #[error("{url} is already in the configuration, as source \"{id}\"")]
    DuplicateUrl { url: String, id: String },
    #[error("the edited configuration would not be valid:\n{0}")]
    Invalid(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The ids and feeds already configured: to refuse duplicates and to pick unused ids.
#[derive(Debug, Default)]
pub struct Existing {
    ids: HashSet<String>,
    /// Canonical URL → id of the source that has it.
    urls: HashMap<String, String>,
    strip_params: Vec<String>,
}

impl Existing {
    pub fn of(config: &Config) -> Existing {
        let mut existing = Existing {
            strip_params: config.dedupe.strip_params.clone(),
            ..Existing::default()
        };
        for s in config.sources.iter().map(|s| s.get_ref()) {
            existing.remember(&s.id, &s.url);
        }
        existing
    }

    fn remember(&mut self, id: &str, url: &str) {
        self.ids.insert(id.to_string());
        if let Some(canonical) = self.canonical(url) {
            self.urls.insert(canonical, id.to_string());
        }
    }

    fn canonical(&self, url: &str) -> Option<String> {
        crate::clean::url::canonical(url, &self.strip_params)
    }

    /// The id of the source that already has this feed (the same canonical URL).
    pub fn owner_of(&self, url: &str) -> Option<&str> {
        self.urls.get(&self.canonical(url)?).map(String::as_str)
    }

    pub fn has_id(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    /// Refuses a source whose id or feed is already configured.
    pub fn admit(&self, source: &NewSource) -> Result<(), EditError> {
        if let Some(id) = self.owner_of(&source.url) {
            return Err(EditError::DuplicateUrl {
                url: source.url.clone(),
                id: id.to_string(),
            });
        }
        if self.has_id(&source.id) {
            return Err(EditError::DuplicateId(source.id.clone()));
        }
        Ok(())
    }

    /// Remembers an admitted source, so that the next one cannot take its id or feed.
    pub fn insert(&mut self, source: &NewSource) {
        self.remember(&source.id, &source.url);
    }

    /// `base` (made a slug), or `base-2`, `base-3`, … whichever is free.
    pub fn unique_id(&self, base: &str) -> String {
        let base = match slug(base) {
            s if s.is_empty() => "source".to_string(),
            s => s,
        };
        (1..)
            .map(|n| match n {
                1 => base.clone(),
                n => format!("{base}-{n}"),
            })
            .find(|id| !self.has_id(id))
            .unwrap_or(base)
    }
}

/// A lower-case ASCII slug of `text`: "Kraków — aktualności" → "krakow-aktualnosci".
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.nfkd().flat_map(ascii_of) {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let cut: String = out.chars().take(MAX_SLUG).collect();
    let slug = cut.trim_matches('-').to_string();
    debug_assert!(slug.is_empty() || valid_slug(&slug));
    slug
}

/// Letters that do not decompose into a base letter and a mark.
fn ascii_of(c: char) -> Vec<char> {
    match c {
        'ł' | 'Ł' => vec!['l'],
        'ß' => vec!['s', 's'],
        'ø' | 'Ø' => vec!['o'],
        'æ' | 'Æ' => vec!['a', 'e'],
        'œ' | 'Œ' => vec!['o', 'e'],
        'đ' | 'Đ' => vec!['d'],
        // Combining marks left by the decomposition: drop, do not separate.
        c if ('\u{300}'..='\u{36f}').contains(&c) => vec![],
        c if c.is_ascii() => vec![c],
        _ => vec![' '],
    }
}

/// `text` with the blocks appended: the existing bytes are kept as they are.
pub fn append(text: &str, sources: &[NewSource]) -> String {
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for source in sources {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&source.to_toml());
    }
    out
}

/// Appends the sources to the file at `path` (whose current content is
/// `text`), after checking the result is a valid configuration.
pub fn append_to_file(path: &Path, text: &str, sources: &[NewSource]) -> Result<(), EditError> {
    let edited = append(text, sources);
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    if let Err(problems) = Config::parse(&edited, base_dir) {
        return Err(EditError::Invalid(render(path, &problems)));
    }
    write_atomically(path, edited.as_bytes())
}

/// Writes through a temporary file in the same folder and a rename, so a
/// reader (or a crash) sees either the old file or the new one, never half.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), EditError> {
    let error = |source| EditError::Write {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "feeds.toml".to_string());
    let temp = path.with_file_name(format!(".{name}.hejnal-tmp"));
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        if let Ok(meta) = std::fs::metadata(path) {
            file.set_permissions(meta.permissions())?;
        }
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written.map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(id: &str, url: &str) -> NewSource {
        NewSource {
            id: id.into(),
            name: "Name \"quoted\" \\ back".into(),
            city: "Kraków".into(),
            country: String::new(),
            url: url.into(),
            lang: "pl".into(),
        }
    }

    #[test]
    fn slugs_are_ascii_and_readable() {
        assert_eq!(slug("Kraków — aktualności"), "krakow-aktualnosci");
        assert_eq!(slug("Łódź"), "lodz");
        assert_eq!(slug("Nürnberger Straße!"), "nurnberger-strasse");
        assert_eq!(slug("  --  "), "");
        assert_eq!(slug("Київ"), "");
        assert!(slug(&"a".repeat(100)).len() <= MAX_SLUG);
    }

    #[test]
    fn blocks_escape_values_and_skip_empty_optionals() {
        let block = source("x", "https://x.example/feed").to_toml();
        assert!(!block.contains("country"), "{block}");
        let parsed: toml::Table = toml::from_str(&block.replace("[[source]]", "")).expect("toml");
        assert_eq!(parsed["name"].as_str(), Some("Name \"quoted\" \\ back"));
    }

    #[test]
    fn ids_are_made_unique_and_duplicates_refused() {
        let mut existing = Existing::default();
        existing.insert(&source("wien", "https://www.orf.at/wien.xml?utm_source=x"));
        assert_eq!(existing.unique_id("Wien"), "wien-2");
        assert!(matches!(
            existing.admit(&source("other", "https://orf.at/wien.xml")),
            Err(EditError::DuplicateUrl { .. })
        ));
        assert!(matches!(
            existing.admit(&source("wien", "https://orf.at/other.xml")),
            Err(EditError::DuplicateId(_))
        ));
        assert!(
            existing
                .admit(&source("new", "https://orf.at/other.xml"))
                .is_ok()
        );
    }

    #[test]
    fn append_keeps_the_text_and_adds_a_newline_when_missing() {
        let out = append("# comment", &[source("a", "https://a.example/")]);
        assert!(
            out.starts_with("# comment\n\n[[source]]\nid = \"a\"\n"),
            "{out}"
        );
    }
}
