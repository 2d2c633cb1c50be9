//! The web page of each feed: a river of the latest stories with links to
//! every feed. One self-contained file per page (inline CSS, no scripts, no
//! fonts, nothing fetched from elsewhere), rendered by askama so that every
//! value is escaped by the template, never pasted into markup by hand.

use askama::Template;
use chrono::{DateTime, Datelike, Utc};

use super::view::{FeedView, ItemView, Shown, SourceRef};
use super::{OutputFile, PublishError};
use crate::model::{Lang, Provenance};

/// Stories shown with an excerpt; older ones show titles only, which keeps a
/// page of a few hundred stories small.
const EXCERPT_STORIES: usize = 40;

/// The feed files of one feed set, as (file, MIME type, format name).
const FORMATS: [(&str, &str, &str); 3] = [
    ("feed.xml", "application/rss+xml", "RSS"),
    ("feed.atom", "application/atom+xml", "Atom"),
    ("feed.json", "application/feed+json", "JSON Feed"),
];

#[derive(Template)]
#[template(path = "index.html")]
struct Page<'a> {
    lang: &'a str,
    title: &'a str,
    description: &'a str,
    words: &'a Words,
    switch: Vec<Switch>,
    alternates: Vec<FeedLink>,
    groups: Vec<FeedGroup>,
    opml: String,
    stories: Vec<Card<'a>>,
}

/// One entry of the language switch.
struct Switch {
    label: String,
    href: String,
    /// The language of the label; none for "all languages", which is in the page's.
    lang: Option<String>,
    current: bool,
}

struct FeedLink {
    mime: &'static str,
    format: &'static str,
    title: String,
    href: String,
}

/// The feeds of one feed set, listed under "Subscribe".
struct FeedGroup {
    label: String,
    lang: Option<String>,
    links: Vec<FeedLink>,
}

/// One story on the page. Cards borrow from the feed's items: a page shows
/// hundreds of stories, and copying each of their strings once per page was
/// a good part of rendering one.
struct Card<'a> {
    texts: Vec<TextView<'a>>,
    source: &'a str,
    source_link: Option<&'a str>,
    city: &'a str,
    date_iso: String,
    date: String,
    others: Vec<Other<'a>>,
}

/// One text of a story, in its own language.
struct TextView<'a> {
    lang: &'a str,
    title: &'a str,
    link: Option<&'a str>,
    excerpt: &'a str,
    /// "Machine translation (ENGINE)", in the text's language.
    machine: Option<String>,
    original_link: Option<&'a str>,
    original_label: &'static str,
    /// Set on a language page when the story has no text in its language.
    original_language: Option<String>,
}

struct Other<'a> {
    name: &'a str,
    link: Option<&'a str>,
}

/// Renders `index.html` for the combined feed (`feeds[0]`) and one
/// `xx/index.html` for each language feed that follows it.
pub(crate) fn render(feeds: &[FeedView]) -> Result<Vec<OutputFile>, PublishError> {
    feeds.iter().map(|feed| page(feeds, feed)).collect()
}

fn page(feeds: &[FeedView], feed: &FeedView) -> Result<OutputFile, PublishError> {
    let path = feed.path("index.html");
    let words = Words::of(&feed.lang);
    let combined = feed.folder.is_empty();
    let page = Page {
        lang: feed.lang.as_str(),
        title: &feed.title,
        description: &feed.description,
        words: &words,
        switch: switch(feeds, feed, &words),
        alternates: own_first(feeds, feed)
            .flat_map(|f| feed_links(feeds, f, &words))
            .collect(),
        groups: feeds
            .iter()
            .map(|f| FeedGroup {
                label: group_label(f, &words),
                lang: (!f.folder.is_empty()).then(|| f.lang.to_string()),
                links: feed_links(feeds, f, &words),
            })
            .collect(),
        opml: format!("{}sources.opml", feed.home),
        stories: feed
            .items
            .iter()
            .enumerate()
            .map(|(n, item)| card(item, &feed.lang, combined, n < EXCERPT_STORIES))
            .collect(),
    };
    let html = page.render().map_err(|e| PublishError::render(&path, e))?;
    Ok(OutputFile {
        path: path.into(),
        bytes: html.into_bytes(),
    })
}

/// Links to every page, the combined one first; relative, so the switch
/// works wherever the folder is served from.
fn switch(feeds: &[FeedView], current: &FeedView, words: &Words) -> Vec<Switch> {
    let root = if current.folder.is_empty() { "" } else { "../" };
    feeds
        .iter()
        .map(|f| Switch {
            label: group_label(f, words),
            href: format!("{root}{}index.html", f.folder),
            lang: (!f.folder.is_empty()).then(|| f.lang.to_string()),
            current: f.folder == current.folder,
        })
        .collect()
}

/// The page's own feeds first: a reader that autodiscovers takes the first.
fn own_first<'a>(
    feeds: &'a [FeedView],
    current: &'a FeedView,
) -> impl Iterator<Item = &'a FeedView> {
    std::iter::once(current).chain(feeds.iter().filter(|f| f.folder != current.folder))
}

/// The three files of `feed`, titled "Publisher — Language (Format)".
fn feed_links(feeds: &[FeedView], feed: &FeedView, words: &Words) -> Vec<FeedLink> {
    let publisher = feeds.first().map_or("", |combined| combined.title.as_str());
    FORMATS
        .iter()
        .map(|&(file, mime, format)| FeedLink {
            mime,
            format,
            title: format!("{publisher} — {} ({format})", group_label(feed, words)),
            href: feed.url(file),
        })
        .collect()
}

fn group_label(feed: &FeedView, words: &Words) -> String {
    if feed.folder.is_empty() {
        words.all_languages.to_string()
    } else {
        language_name(&feed.lang)
    }
}

/// One story; `excerpt` says whether it shows the start of its summary.
fn card<'a>(item: &'a ItemView, page_lang: &Lang, combined: bool, excerpt: bool) -> Card<'a> {
    let author = &item.author;
    let texts: Vec<TextView> = item
        .variants
        .iter()
        .enumerate()
        // The combined page shows every language's title but only the first
        // text's summary: the page stays small and readable.
        .map(|(n, v)| text_view(v, page_lang, combined, excerpt && n == 0))
        .collect();
    // The source's article is linked from the title already.
    let source_link = author
        .link
        .as_deref()
        .filter(|link| texts.iter().all(|t| t.link != Some(*link)));
    Card {
        texts,
        source: &author.name,
        source_link,
        city: &author.city,
        date_iso: item.published.format("%Y-%m-%d").to_string(),
        date: long_date(item.published, page_lang),
        others: item
            .sources
            .iter()
            .filter(|s| s.id != author.id)
            .map(|source| other(source))
            .collect(),
    }
}

fn text_view<'a>(
    shown: &'a Shown,
    page_lang: &Lang,
    combined: bool,
    excerpt: bool,
) -> TextView<'a> {
    let v = &shown.variant;
    let own = Words::of(&v.lang);
    let (machine, original_link) = match &v.provenance {
        Provenance::Machine {
            engine,
            original_link,
            ..
        } => (
            Some(format!("{} ({engine})", own.machine_translation)),
            original_link.as_deref(),
        ),
        Provenance::Edited { original_link, .. } => (
            Some(own.edited_translation.to_string()),
            original_link.as_deref(),
        ),
        Provenance::Native { .. } => (None, None),
    };
    let original_language = (!combined && &v.lang != page_lang).then(|| {
        format!(
            "{} ({})",
            Words::of(page_lang).original_text,
            v.lang.as_str().to_ascii_uppercase()
        )
    });
    TextView {
        lang: v.lang.as_str(),
        title: &v.title,
        link: v.link.as_deref(),
        excerpt: if excerpt { shown.text.excerpt() } else { "" },
        machine,
        original_link,
        original_label: own.original,
        original_language,
    }
}

fn other(source: &SourceRef) -> Other<'_> {
    Other {
        name: &source.name,
        link: source.link.as_deref(),
    }
}

fn language_name(lang: &Lang) -> String {
    match lang.as_str() {
        "pl" => "Polski",
        "en" => "English",
        "de" => "Deutsch",
        "fr" => "Français",
        "uk" => "Українська",
        "cs" => "Čeština",
        "sk" => "Slovenčina",
        "it" => "Italiano",
        "es" => "Español",
        "lt" => "Lietuvių",
        "hu" => "Magyar",
        other => return other.to_ascii_uppercase(),
    }
    .to_string()
}

/// "24 listopada 2026", "24 November 2026": the day, the month's name as the
/// language says it in a date, and the year. Languages without names here get
/// the English form.
pub(crate) fn long_date(at: DateTime<Utc>, lang: &Lang) -> String {
    let (day, year) = (at.day(), at.year());
    let month = usize::try_from(at.month0()).unwrap_or(0);
    let name = |names: [&'static str; 12]| names.get(month).copied().unwrap_or("");
    match lang.as_str() {
        "pl" => format!("{day} {} {year}", name(PL_MONTHS)),
        "uk" => format!("{day} {} {year}", name(UK_MONTHS)),
        "de" => format!("{day}. {} {year}", name(DE_MONTHS)),
        "fr" if day == 1 => format!("1er {} {year}", name(FR_MONTHS)),
        "fr" => format!("{day} {} {year}", name(FR_MONTHS)),
        _ => format!("{day} {} {year}", name(EN_MONTHS)),
    }
}

/// Polish and Ukrainian dates take the month in the genitive.
const PL_MONTHS: [&str; 12] = [
    "stycznia",
    "lutego",
    "marca",
    "kwietnia",
    "maja",
    "czerwca",
    "lipca",
    "sierpnia",
    "września",
    "października",
    "listopada",
    "grudnia",
];
const UK_MONTHS: [&str; 12] = [
    "січня",
    "лютого",
    "березня",
    "квітня",
    "травня",
    "червня",
    "липня",
    "серпня",
    "вересня",
    "жовтня",
    "листопада",
    "грудня",
];
const DE_MONTHS: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];
const FR_MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];
const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The page's own words; languages other than Polish get English.
struct Words {
    all_languages: &'static str,
    language: &'static str,
    skip: &'static str,
    latest: &'static str,
    empty: &'static str,
    subscribe: &'static str,
    subscribe_help: &'static str,
    sources_opml: &'static str,
    also_reported_by: &'static str,
    machine_translation: &'static str,
    edited_translation: &'static str,
    original: &'static str,
    original_text: &'static str,
}

impl Words {
    fn of(lang: &Lang) -> Words {
        if lang.as_str() == "pl" {
            Words {
                all_languages: "Wszystkie języki",
                language: "Język",
                skip: "Przejdź do wiadomości",
                latest: "Najnowsze wiadomości",
                empty: "Nie ma jeszcze wiadomości.",
                subscribe: "Subskrybuj",
                subscribe_help: "Wklej adres kanału do czytnika kanałów, a nowe wiadomości przyjdą same.",
                sources_opml: "Lista źródeł (OPML)",
                also_reported_by: "Inne źródła:",
                machine_translation: "Tłumaczenie maszynowe",
                edited_translation: "Tłumaczenie redakcyjne",
                original: "oryginał",
                original_text: "Tekst w języku oryginału",
            }
        } else {
            Words {
                all_languages: "All languages",
                language: "Language",
                skip: "Skip to the stories",
                latest: "Latest stories",
                empty: "No stories yet.",
                subscribe: "Subscribe",
                subscribe_help: "Paste a feed's address into your feed reader and new stories will come to you.",
                sources_opml: "List of sources (OPML)",
                also_reported_by: "Also reported by:",
                machine_translation: "Machine translation",
                edited_translation: "Edited translation",
                original: "original",
                original_text: "Text in the original language",
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn lang(code: &str) -> Lang {
        Lang::parse(code).unwrap()
    }

    #[test]
    fn dates_speak_the_page_language() {
        let at = Utc.with_ymd_and_hms(2026, 11, 24, 23, 0, 0).unwrap();
        assert_eq!(long_date(at, &lang("pl")), "24 listopada 2026");
        assert_eq!(long_date(at, &lang("en")), "24 November 2026");
        assert_eq!(long_date(at, &lang("de")), "24. November 2026");
        assert_eq!(long_date(at, &lang("uk")), "24 листопада 2026");
        assert_eq!(long_date(at, &lang("fr")), "24 novembre 2026");
        assert_eq!(long_date(at, &lang("xx")), "24 November 2026");
        let first = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        assert_eq!(long_date(first, &lang("fr")), "1er mars 2026");
        assert_eq!(long_date(first, &lang("pl")), "1 marca 2026");
    }
}
