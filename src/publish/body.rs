//! The HTML body of an item: one `lang`-tagged section per text, the machine
//! translation mark, and the other sources of the story.

use super::view::SourceRef;
pub use crate::clean::html::escape_html;
use crate::model::{Lang, Provenance, Variant};

/// One text of the body.
pub(crate) struct Section<'a> {
    pub variant: &'a Variant,
    /// The lead article, linked from a machine translation whose provenance
    /// does not name its original.
    pub original_link: Option<&'a str>,
}

/// The body of one item. `ui` is the language of the feed's own words;
/// `missing` is set when the story has no text in the feed's language.
pub(crate) fn render(
    sections: &[Section],
    others: &[&SourceRef],
    ui: &Lang,
    missing: Option<&Lang>,
) -> String {
    let words = Words::of(ui);
    let mut html = String::new();
    if let (Some(missing), Some(first)) = (missing, sections.first()) {
        html.push_str(&format!(
            "<p lang=\"{}\"><em>{} ({})</em></p>",
            escape_html(missing.as_str()),
            words.original_text,
            escape_html(&first.variant.lang.as_str().to_ascii_uppercase()),
        ));
    }
    for section in sections {
        html.push_str(&render_section(section));
    }
    if !others.is_empty() {
        html.push_str(&render_others(others, &words));
    }
    html
}

fn render_section(section: &Section) -> String {
    let v = section.variant;
    let words = Words::of(&v.lang);
    // Summaries were sanitized when stored, but machine translations come back
    // from a remote engine: cleaning again here keeps scripts out of every feed.
    let mut html = format!(
        "<div lang=\"{}\">{}",
        escape_html(v.lang.as_str()),
        ammonia::clean(&v.summary)
    );
    if let Some(link) = &v.link {
        html.push_str(&format!(
            "<p><a href=\"{}\">{}</a></p>",
            escape_html(link),
            words.read_more
        ));
    }
    if let Provenance::Machine {
        engine,
        original_link,
        ..
    } = &v.provenance
    {
        html.push_str(&machine_mark(
            engine,
            original_link.as_deref().or(section.original_link),
            &words,
        ));
    }
    html.push_str("</div>");
    html
}

fn machine_mark(engine: &str, original: Option<&str>, words: &Words) -> String {
    let mut mark = format!(
        "<p><small>{} ({})",
        words.machine_translation,
        escape_html(engine)
    );
    if let Some(link) = original {
        let link = escape_html(link);
        mark.push_str(&format!(
            " · {}: <a href=\"{link}\">{link}</a>",
            words.original
        ));
    }
    mark.push_str("</small></p>");
    mark
}

fn render_others(others: &[&SourceRef], words: &Words) -> String {
    let list: Vec<String> = others
        .iter()
        .map(|source| match &source.link {
            Some(link) => format!(
                "<a href=\"{}\">{}</a>",
                escape_html(link),
                escape_html(&source.name)
            ),
            None => escape_html(&source.name),
        })
        .collect();
    format!("<p>{} {}</p>", words.also_reported_by, list.join(", "))
}

/// The feed's own words in one language; languages other than Polish get English.
struct Words {
    read_more: &'static str,
    machine_translation: &'static str,
    original: &'static str,
    also_reported_by: &'static str,
    original_text: &'static str,
}

impl Words {
    fn of(lang: &Lang) -> Words {
        if lang.as_str() == "pl" {
            Words {
                read_more: "Czytaj dalej",
                machine_translation: "Tłumaczenie maszynowe",
                original: "oryginał",
                also_reported_by: "Inne źródła:",
                original_text: "Tekst w języku oryginału",
            }
        } else {
            Words {
                read_more: "Read more",
                machine_translation: "Machine translation",
                original: "original",
                also_reported_by: "Also reported by:",
                original_text: "Text in the original language",
            }
        }
    }
}
