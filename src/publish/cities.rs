//! The feed sets of one city or one category (`[publisher] per_city`,
//! `per_category`): the stories of the main feeds that a source of the city
//! told, or that carry the category, under `city/SLUG/` and
//! `category/SLUG/`, each set with its combined and language feeds and their
//! pages. Their items have ids of their own (see `ids::scoped`): a reader
//! subscribed to the main feed and to a city's keeps both items.

use url::Url;

use super::categories::{Categories, fold};
use super::escape::xml_safe;
use super::text::Texts;
use super::view::{self, FeedView};
use super::{CATEGORY_FOLDER, CITY_FOLDER, ids};
use crate::clean::fingerprint::normalize;
use crate::config::Config;
use crate::model::{Lang, Story};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    City,
    Category,
}

impl Kind {
    fn folder(self) -> &'static str {
        match self {
            Kind::City => CITY_FOLDER,
            Kind::Category => CATEGORY_FOLDER,
        }
    }
}

/// One city or category that has a feed set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    pub kind: Kind,
    pub slug: String,
    /// As feeds.toml first spells it.
    pub label: String,
}

impl Scope {
    /// Where its feed set is published: `city/krakow/`.
    pub fn folder(&self) -> String {
        format!("{}/{}/", self.kind.folder(), self.slug)
    }
}

/// The part of a URL a name becomes: its words lower-cased, without
/// diacritics, joined by '-' ("Kraków" → "krakow", "Frankfurt am Main" →
/// "frankfurt-am-main"). Letters with no Latin form are left out; a name left
/// with none has no slug.
pub(crate) fn slug(name: &str) -> Option<String> {
    let words: Vec<String> = normalize(name)
        .split(' ')
        .map(|w| w.chars().filter(char::is_ascii_alphanumeric).collect())
        .filter(|w: &String| !w.is_empty())
        .collect();
    (!words.is_empty()).then(|| words.join("-"))
}

/// The cities and categories that get feed sets, in the order feeds.toml
/// first names them; names with the same slug share one.
pub(crate) fn scopes(config: &Config) -> Vec<Scope> {
    let mut out: Vec<Scope> = Vec::new();
    let mut add = |kind: Kind, name: &str| {
        let Some(slug) = slug(name) else {
            tracing::warn!(
                name,
                "no feed of its own: the name has no letter a URL can carry"
            );
            return;
        };
        if !out.iter().any(|s| s.kind == kind && s.slug == slug) {
            out.push(Scope {
                kind,
                slug,
                label: name.trim().to_string(),
            });
        }
    };
    if config.publisher.per_city {
        for source in config.enabled_sources() {
            if !source.city.trim().is_empty() {
                add(Kind::City, &source.city);
            }
        }
    }
    if config.publisher.per_category {
        for source in config.enabled_sources() {
            for category in &source.categories {
                add(Kind::Category, category);
            }
        }
    }
    out
}

/// The feeds of one scope: its combined feed, then one per output language.
pub(crate) fn feeds(
    config: &Config,
    home: &Url,
    scope: &Scope,
    chosen: &[&Story],
    ui: &Lang,
    texts: &mut Texts,
) -> Vec<FeedView> {
    let members = Members::of(config, scope);
    let stories: Vec<&Story> = chosen
        .iter()
        .copied()
        .filter(|story| members.hold(story))
        .collect();
    let told = view::told(config, &stories);
    let mut feeds = vec![view::combined(config, home, &told, ui, texts)];
    for lang in &config.publisher.languages {
        feeds.push(view::single(config, home, &told, lang, texts));
    }
    let label = xml_safe(&scope.label);
    let within = scope.folder();
    let publisher = xml_safe(&config.publisher.title);
    for feed in &mut feeds {
        feed.title = if feed.folder.is_empty() {
            format!("{publisher} — {label}")
        } else {
            let lang = feed.lang.as_str().to_ascii_uppercase();
            format!("{publisher} — {label} ({lang})")
        };
        feed.folder = format!("{within}{}", feed.folder);
        for item in &mut feed.items {
            item.guid = ids::scoped(&item.guid, within.trim_end_matches('/'));
        }
    }
    feeds
}

/// What decides which stories a scope's feeds hold, read from the
/// configuration once per scope.
enum Members<'c> {
    /// The sources of the city.
    City(Vec<&'c str>),
    Category {
        categories: Categories<'c>,
        wanted: String,
    },
}

impl<'c> Members<'c> {
    fn of(config: &'c Config, scope: &Scope) -> Members<'c> {
        match scope.kind {
            Kind::City => Members::City(
                config
                    .sources
                    .iter()
                    .map(|s| s.get_ref())
                    .filter(|s| slug(&s.city).as_deref() == Some(scope.slug.as_str()))
                    .map(|s| s.id.as_str())
                    .collect(),
            ),
            Kind::Category => Members::Category {
                categories: Categories::of(config),
                wanted: fold(&scope.label),
            },
        }
    }

    fn hold(&self, story: &Story) -> bool {
        match self {
            Members::City(sources) => story
                .entries
                .iter()
                .any(|stored| sources.contains(&stored.entry.source_id.as_str())),
            Members::Category { categories, wanted } => categories
                .of_story(story)
                .iter()
                .any(|c| fold(c) == *wanted),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_fold_diacritics_and_join_words() {
        assert_eq!(slug("Kraków").as_deref(), Some("krakow"));
        assert_eq!(slug(" Nürnberg ").as_deref(), Some("nurnberg"));
        assert_eq!(
            slug("Frankfurt am Main").as_deref(),
            Some("frankfurt-am-main")
        );
        assert_eq!(slug("Łódź").as_deref(), Some("lodz"));
        assert_eq!(slug("Київ"), None);
        assert_eq!(slug("../etc"), Some("etc".to_string()));
    }
}
