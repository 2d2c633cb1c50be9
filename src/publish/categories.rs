//! The categories a story is labelled with: those feeds.toml gives its
//! sources (`categories = […]`), then its entries' own, each once whatever
//! its case.

use std::collections::HashMap;

pub(crate) use crate::clean::fold_category as fold;
use crate::clean::same_category;
use crate::config::Config;
use crate::model::Story;

/// Each source's configured categories, looked up once per render.
pub(crate) struct Categories<'c> {
    by_source: HashMap<&'c str, &'c [String]>,
}

impl<'c> Categories<'c> {
    pub fn of(config: &'c Config) -> Categories<'c> {
        Categories {
            by_source: config
                .sources
                .iter()
                .map(|s| (s.get_ref().id.as_str(), s.get_ref().categories.as_slice()))
                .collect(),
        }
    }

    pub fn of_story(&self, story: &Story) -> Vec<String> {
        let configured = story.entries.iter().flat_map(|stored| {
            self.by_source
                .get(stored.entry.source_id.as_str())
                .copied()
                .unwrap_or_default()
        });
        let own = story.entries.iter().flat_map(|s| &s.entry.categories);
        let mut out: Vec<String> = Vec::new();
        for name in configured.chain(own).map(|c| c.trim()) {
            if !name.is_empty() && !out.iter().any(|c| same_category(c, name)) {
                out.push(name.to_string());
            }
        }
        out
    }
}
