//! What an editor at the city hall does to what hejnal publishes: take a
//! story down and bring it back, and write a story's text in one language in
//! place of the machine translation. Every change goes through the store, so
//! every feed, page and archive written after it agrees.

use chrono::{DateTime, Utc};

use crate::bilingual::variants::best_native;
use crate::clean::html::{plain_text, sanitize};
use crate::model::{Lang, Provenance, Story, Variant};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error(
        "no story is known as {0:?}: give its number or id from `hejnal stories`, its id in a feed, or the link of one of its articles"
    )]
    NoSuchStory(String),
    #[error(
        "the story has its own {lang} text, from the source {source_id}: only a translation can be corrected (hide the story, or ask the source)"
    )]
    NativeText { lang: Lang, source_id: String },
    #[error(
        "the story has no {0} translation yet to keep the rest from: give both --title and --summary"
    )]
    NothingToKeep(Lang),
    #[error("a correction needs a title with words in it")]
    EmptyTitle,
    #[error("the story has no entries left to translate from")]
    NoEntries,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The story `reference` names (see `Store::find_story`), with its entries
/// and variants.
pub fn find(store: &Store, reference: &str) -> Result<Story, EditError> {
    let not_found = || EditError::NoSuchStory(reference.to_string());
    let id = store.find_story(reference)?.ok_or_else(not_found)?;
    store.story(id)?.ok_or_else(not_found)
}

/// Takes `story` out of everything published from the next publish on.
/// False when it was out already.
pub fn hide(
    store: &Store,
    story: &Story,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, EditError> {
    let hidden = store.hide_story(story.id, reason, now)?;
    if hidden {
        tracing::info!(guid = %story.guid, reason, "story hidden by an editor");
    }
    Ok(hidden)
}

/// What an editor writes for one language of a story; what is left out is
/// kept from the machine translation.
#[derive(Debug, Clone, Default)]
pub struct Correction {
    pub title: Option<String>,
    /// HTML or plain text; sanitized like any source's text.
    pub summary: Option<String>,
}

/// Writes `correction` as the story's text in `lang`, in place of the
/// machine translation; returns the text as it will be published.
pub fn correct(
    store: &Store,
    story: &Story,
    lang: &Lang,
    correction: Correction,
) -> Result<Variant, EditError> {
    if let Some(native) = story.entries.iter().find(|e| &e.entry.lang == lang) {
        return Err(EditError::NativeText {
            lang: lang.clone(),
            source_id: native.entry.source_id.clone(),
        });
    }
    let lead = best_native(story).ok_or(EditError::NoEntries)?;
    let machine = story.translations.iter().find(|v| &v.lang == lang);
    let title = match (correction.title, machine) {
        (Some(title), _) => plain_text(&title),
        (None, Some(v)) => v.title.clone(),
        (None, None) => return Err(EditError::NothingToKeep(lang.clone())),
    };
    if title.trim().is_empty() {
        return Err(EditError::EmptyTitle);
    }
    let base = lead
        .entry
        .link
        .as_deref()
        .and_then(|l| url::Url::parse(l).ok());
    let summary = match (correction.summary, machine) {
        (Some(summary), _) => sanitize(&summary, base.as_ref()),
        (None, Some(v)) => v.summary.clone(),
        (None, None) => return Err(EditError::NothingToKeep(lang.clone())),
    };
    let variant = Variant {
        lang: lang.clone(),
        title,
        summary,
        link: lead.entry.link.clone(),
        provenance: Provenance::Edited {
            from: lead.entry.lang.clone(),
            original_link: lead.entry.link.clone(),
        },
    };
    store.save_correction(story.id, &variant, (lead.id, lead.entry.fingerprint))?;
    tracing::info!(guid = %story.guid, lang = %lang, "translation corrected by an editor");
    Ok(variant)
}
