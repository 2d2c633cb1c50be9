//! The editors' keys of feeds.toml: which stored entries are published
//! (`[filter]` for every source, `filter` of a `[[source]]` for one), and the
//! categories a source labels its stories with.

use serde::Deserialize;

/// Include and exclude rules, as written. Each rule is a word or phrase
/// (matched as whole words, whatever the case and diacritics) or a regular
/// expression between slashes (`/Krak(ó|o)w/`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// When any is given, an entry is published only if one of them matches.
    #[serde(default)]
    pub include: Vec<String>,
    /// An entry that one of them matches is not published.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// What the rules read.
    #[serde(default = "default_fields")]
    pub fields: Vec<FilterField>,
}

/// A part of an entry a rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterField {
    Title,
    /// The summary as plain text.
    Text,
    Link,
    /// The feed's own categories and the source's `categories`.
    Category,
}

/// The names `fields` accepts, as `hejnal check` lists them.
pub const FIELD_NAMES: &[&str] = &["title", "text", "link", "category"];

impl Default for FilterConfig {
    fn default() -> Self {
        FilterConfig {
            include: Vec::new(),
            exclude: Vec::new(),
            fields: default_fields(),
        }
    }
}

impl FilterConfig {
    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }
}

fn default_fields() -> Vec<FilterField> {
    vec![FilterField::Title, FilterField::Text, FilterField::Category]
}
