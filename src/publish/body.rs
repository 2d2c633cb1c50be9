//! The HTML body of an item: one `lang`-tagged section per text, the machine
//! translation mark, and the other sources of the story.

use super::text::Prepared;
use super::view::{SourceRef, xml_safe};
pub use crate::clean::html::escape_html;
use crate::model::{Lang, Provenance, Variant};

/// One text of the body.
pub(crate) struct Section<'a> {
    pub variant: &'a Variant,
    /// The variant's summary, sanitized.
    pub text: &'a Prepared,
    /// The lead article, linked from a machine translation whose provenance
    /// does not name its original.
    pub original_link: Option<&'a str>,
}

/// One body in the two markups the formats carry.
pub(crate) struct Body {
    /// HTML, for RSS and JSON Feed.
    pub html: String,
    /// Well-formed XHTML, for Atom.
    pub xhtml: String,
}

/// The body of one item. `ui` is the language of the feed's own words;
/// `missing` is set when the story has no text in the feed's language.
///
/// Every piece of a body can be carried by XML already: the texts were made
/// so when prepared, source names when resolved, links are parsed URLs,
/// language codes are letters, and the engine is cleaned here.
pub(crate) fn render(
    sections: &[Section],
    others: &[&SourceRef],
    ui: &Lang,
    missing: Option<&Lang>,
) -> Body {
    let body = |markup| render_in(markup, sections, others, ui, missing);
    Body {
        html: body(Markup::Html),
        xhtml: body(Markup::Xhtml),
    }
}

/// The markup a body is written in. The markup around the texts is the same
/// in both but for `xml:lang`, which XML readers look at instead of `lang`.
#[derive(Clone, Copy)]
enum Markup {
    Html,
    Xhtml,
}

impl Markup {
    /// The attributes that give an element's language.
    fn lang(self, lang: &str) -> String {
        let lang = escape_html(lang);
        match self {
            Markup::Html => format!("lang=\"{lang}\""),
            Markup::Xhtml => format!("lang=\"{lang}\" xml:lang=\"{lang}\""),
        }
    }

    fn text(self, text: &Prepared) -> &str {
        match self {
            Markup::Html => &text.html,
            Markup::Xhtml => &text.xhtml,
        }
    }
}

fn render_in(
    markup: Markup,
    sections: &[Section],
    others: &[&SourceRef],
    ui: &Lang,
    missing: Option<&Lang>,
) -> String {
    let words = Words::of(ui);
    let texts: usize = sections.iter().map(|s| markup.text(s.text).len()).sum();
    let mut html = String::with_capacity(texts + 1024);
    if let (Some(missing), Some(first)) = (missing, sections.first()) {
        html.push_str(&format!(
            "<p {}><em>{} ({})</em></p>",
            markup.lang(missing.as_str()),
            words.original_text,
            escape_html(&first.variant.lang.as_str().to_ascii_uppercase()),
        ));
    }
    for section in sections {
        html.push_str(&render_section(markup, section));
    }
    if !others.is_empty() {
        html.push_str(&render_others(others, &words));
    }
    html
}

fn render_section(markup: Markup, section: &Section) -> String {
    let v = section.variant;
    let words = Words::of(&v.lang);
    let mut html = format!(
        "<div {}>{}",
        markup.lang(v.lang.as_str()),
        markup.text(section.text)
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
        escape_html(&xml_safe(engine))
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
