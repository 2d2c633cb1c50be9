//! Which stored entries are published: the include and exclude rules of
//! feeds.toml (`[filter]` for every source, a source's own `filter`), read
//! against each entry's title, text, link and categories.
//!
//! Rules apply after storage: every entry is stored whatever they say. The
//! store keeps the entries they keep out, and for each source a digest of the
//! rules its entries were judged under; new and changed entries, and all the
//! entries of a source whose digest changed, are judged before the next
//! publish, so a changed rule hides or brings back stories without a fetch.

mod rule;

use std::collections::HashMap;

use xxhash_rust::xxh3::Xxh3;

use crate::clean::hash_pieces;
use crate::clean::html::sanitized_text;
use crate::config::{Config, FilterConfig, FilterField};
use crate::store::{FilterCandidate, Judged, Store, StoreError};

pub use rule::Rule;
use rule::Subject;

/// One level of rules (global, or one source's), compiled.
#[derive(Debug, Default)]
struct Rules {
    include: Vec<Rule>,
    exclude: Vec<Rule>,
    fields: Vec<FilterField>,
}

impl Rules {
    fn compile(config: &FilterConfig) -> Rules {
        Rules {
            include: compile_all(&config.include),
            exclude: compile_all(&config.exclude),
            fields: config.fields.clone(),
        }
    }

    fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// True when the entry may be published as far as these rules go.
    fn pass(&self, entry: &Readable) -> bool {
        let matches = |rule: &Rule| self.fields.iter().any(|f| entry.matches(*f, rule));
        (self.include.is_empty() || self.include.iter().any(matches))
            && !self.exclude.iter().any(matches)
    }
}

/// `hejnal check` reports a rule that does not compile, so one that still
/// does not is left out with a log line rather than stopping publishing.
fn compile_all(rules: &[String]) -> Vec<Rule> {
    rules
        .iter()
        .filter_map(|raw| match Rule::parse(raw) {
            Ok(rule) => Some(rule),
            Err(e) => {
                tracing::warn!(rule = %raw, error = %e, "filter rule ignored");
                None
            }
        })
        .collect()
}

/// Every rule of a configuration, compiled once.
pub struct Filters {
    global: Rules,
    global_config: FilterConfig,
    sources: HashMap<String, SourceRules>,
}

/// A source's own rules, and the categories its entries carry besides the
/// feed's (which `category` rules read).
struct SourceRules {
    rules: Rules,
    config: FilterConfig,
    categories: Vec<String>,
}

impl Filters {
    pub fn of(config: &Config) -> Filters {
        Filters {
            global: Rules::compile(&config.filter),
            global_config: config.filter.clone(),
            sources: config
                .sources
                .iter()
                .map(|s| {
                    let s = s.get_ref();
                    let config = s.filter.clone().unwrap_or_default();
                    let own = SourceRules {
                        rules: Rules::compile(&config),
                        config,
                        categories: s.categories.clone(),
                    };
                    (s.id.clone(), own)
                })
                .collect(),
        }
    }

    /// A digest of everything that decides `source_id`'s verdicts: when it
    /// changes, its entries are judged again.
    pub fn digest(&self, source_id: &str) -> u64 {
        let mut hasher = Xxh3::new();
        // The version: a release that reads rules differently judges again.
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        digest_rules(&mut hasher, &self.global_config);
        if let Some(own) = self.sources.get(source_id) {
            digest_rules(&mut hasher, &own.config);
            hash_pieces(&mut hasher, own.categories.iter().map(|c| c.as_bytes()));
        }
        hasher.digest()
    }

    /// Whether any rule applies to `source_id`'s entries: most sources have
    /// none, and their entries are never read.
    pub fn has_rules(&self, source_id: &str) -> bool {
        !self.global.is_empty()
            || self
                .sources
                .get(source_id)
                .is_some_and(|own| !own.rules.is_empty())
    }

    /// True when the entry may be published.
    pub fn pass(&self, entry: &FilterCandidate) -> bool {
        if !self.has_rules(&entry.source_id) {
            return true;
        }
        let own = self.sources.get(entry.source_id.as_str());
        let categories = own.map_or(&[][..], |own| own.categories.as_slice());
        let text = sanitized_text(&entry.summary);
        let readable = Readable::of(entry, &text, categories);
        self.global.pass(&readable) && own.is_none_or(|own| own.rules.pass(&readable))
    }
}

fn digest_rules(hasher: &mut Xxh3, config: &FilterConfig) {
    let fields: Vec<&[u8]> = config
        .fields
        .iter()
        .map(|f| match f {
            FilterField::Title => &b"title"[..],
            FilterField::Text => b"text",
            FilterField::Link => b"link",
            FilterField::Category => b"category",
        })
        .collect();
    hash_pieces(hasher, [&b"include"[..]]);
    hash_pieces(hasher, config.include.iter().map(|r| r.as_bytes()));
    hash_pieces(hasher, [&b"exclude"[..]]);
    hash_pieces(hasher, config.exclude.iter().map(|r| r.as_bytes()));
    hash_pieces(hasher, [&b"fields"[..]]);
    hash_pieces(hasher, fields);
}

/// An entry's parts as the rules read them.
struct Readable<'a> {
    title: Subject<'a>,
    text: Subject<'a>,
    link: Subject<'a>,
    categories: Vec<Subject<'a>>,
}

impl<'a> Readable<'a> {
    fn of(
        entry: &'a FilterCandidate,
        text: &'a str,
        source_categories: &'a [String],
    ) -> Readable<'a> {
        Readable {
            title: Subject::new(&entry.title),
            text: Subject::new(text),
            link: Subject::new(entry.link.as_deref().unwrap_or("")),
            categories: entry
                .categories
                .iter()
                .chain(source_categories)
                .map(|c| Subject::new(c))
                .collect(),
        }
    }

    fn matches(&self, field: FilterField, rule: &Rule) -> bool {
        match field {
            FilterField::Title => rule.matches(&self.title),
            FilterField::Text => rule.matches(&self.text),
            FilterField::Link => rule.matches(&self.link),
            FilterField::Category => self.categories.iter().any(|c| rule.matches(c)),
        }
    }
}

/// Judges every stored entry that is new, changed, or of a source whose
/// rules changed, and stores the verdicts.
pub fn apply(config: &Config, store: &Store) -> Result<Judged, StoreError> {
    let filters = Filters::of(config);
    let judged = store.judge_entries(
        |source_id| filters.digest(source_id),
        |source_id| filters.has_rules(source_id),
        |entry| !filters.pass(entry),
    )?;
    if judged.judged > 0 {
        tracing::info!(
            judged = judged.judged,
            filtered = judged.filtered,
            "filter rules applied"
        );
    }
    Ok(judged)
}
