//! Choosing a story's text in each output language.

use crate::model::{Lang, Provenance, StoredEntry, Story, Variant};

/// The story's text in each of `languages`, in that order: text written in the
/// language by a source wins over a machine translation; `None` means the story
/// has no text in that language at all.
pub fn variants(story: &Story, languages: &[Lang]) -> Vec<(Lang, Option<Variant>)> {
    languages
        .iter()
        .map(|lang| (lang.clone(), variant(story, lang)))
        .collect()
}

/// The story's text in one language, if it has any.
pub fn variant(story: &Story, lang: &Lang) -> Option<Variant> {
    match found_in(story, lang)? {
        Found::Native(stored) => Some(native_variant(stored)),
        Found::Machine(v) => Some(v.clone()),
    }
}

/// The title of the story's text in one language, if it has any: read where
/// the text is, without copying its summary.
pub fn title_in<'a>(story: &'a Story, lang: &Lang) -> Option<&'a str> {
    match found_in(story, lang)? {
        Found::Native(stored) => Some(&stored.entry.title),
        Found::Machine(v) => Some(&v.title),
    }
}

/// Where the story's text in a language is: an entry or a translation.
enum Found<'a> {
    Native(&'a StoredEntry),
    Machine(&'a Variant),
}

fn found_in<'a>(story: &'a Story, lang: &Lang) -> Option<Found<'a>> {
    // Entries are kept lead first, so the first match is the best native text.
    story
        .entries
        .iter()
        .find(|stored| &stored.entry.lang == lang)
        .map(Found::Native)
        .or_else(|| {
            story
                .translations
                .iter()
                .find(|v| &v.lang == lang)
                .map(Found::Machine)
        })
}

/// The lead entry: the earliest native telling of the story. `None` only for a
/// story the store handed over without entries.
pub fn best_native(story: &Story) -> Option<&StoredEntry> {
    story.entries.first()
}

/// An entry's own text as a variant in its language.
pub fn native_variant(stored: &StoredEntry) -> Variant {
    Variant {
        summary: stored.entry.summary.clone(),
        ..native_heading(stored)
    }
}

/// [`native_variant`] without the summary, for what needs only the text's
/// language, title, link and source: summaries are most of a story's bytes.
pub fn native_heading(stored: &StoredEntry) -> Variant {
    let entry = &stored.entry;
    Variant {
        lang: entry.lang.clone(),
        title: entry.title.clone(),
        summary: String::new(),
        link: entry.link.clone(),
        provenance: Provenance::Native {
            source_id: entry.source_id.clone(),
        },
    }
}
