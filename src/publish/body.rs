//! The HTML body of an item: one `lang`-tagged section per text, the machine
//! translation mark, and the other sources of the story.

use std::fmt::{self, Write};

use super::escape::{escape_json_into, xml_safe};
use super::text::Prepared;
use crate::clean::html::{escape_html, escape_html_into};
use crate::model::{Lang, Provenance, Variant};

/// A source as a reader is shown it.
#[derive(Clone)]
pub(crate) struct SourceRef {
    pub id: String,
    pub name: String,
    pub city: String,
    /// The source's own feed.
    pub feed_url: Option<String>,
    /// The source's web site, guessed as the root of its feed's host.
    pub site: Option<String>,
    /// The source's article for this story.
    pub link: Option<String>,
    pub lang: Lang,
}

/// One text of the body.
pub(crate) struct Section<'a> {
    pub variant: &'a Variant,
    /// The variant's summary, sanitized.
    pub text: &'a Prepared,
    /// The lead article, linked from a machine translation whose provenance
    /// does not name its original.
    pub original_link: Option<&'a str>,
}

/// One body in the markups the formats carry.
pub(crate) struct Body {
    /// HTML, for RSS.
    pub html: String,
    /// Well-formed XHTML, for Atom; empty when only HTML was asked for.
    pub xhtml: String,
    /// The HTML as the contents of a JSON string, for JSON Feed; empty when
    /// only HTML was asked for.
    pub json: String,
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
    html_only: bool,
) -> Body {
    let body = |markup| render_in(markup, sections, others, ui, missing);
    let other = |markup| {
        if html_only {
            String::new()
        } else {
            body(markup)
        }
    };
    Body {
        html: body(Markup::Html),
        xhtml: other(Markup::Xhtml),
        json: other(Markup::Json),
    }
}

/// The markup a body is written in. The markup around the texts is the same
/// in all but for `xml:lang`, which XML readers look at instead of `lang`;
/// JSON carries the HTML escaped as a string, and each text's escaped form is
/// prepared once, so only the few bytes of markup around it are escaped here.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Markup {
    Html,
    Xhtml,
    Json,
}

impl Markup {
    fn text(self, text: &Prepared) -> &str {
        match self {
            Markup::Html => &text.html,
            Markup::Xhtml => text.xhtml(),
            Markup::Json => text.json(),
        }
    }
}

/// A body being written: markup goes through `fmt::Write`, escaped for JSON
/// when the body is for JSON; prepared texts are copied as they are.
struct Out {
    markup: Markup,
    body: String,
}

impl Write for Out {
    fn write_str(&mut self, markup: &str) -> fmt::Result {
        if self.markup == Markup::Json {
            escape_json_into(&mut self.body, markup);
        } else {
            self.body.push_str(markup);
        }
        Ok(())
    }
}

impl Out {
    fn text(&mut self, text: &Prepared) {
        self.body.push_str(self.markup.text(text));
    }

    /// The attributes that give an element's language.
    fn lang(&mut self, lang: &str) -> fmt::Result {
        self.attribute("lang", lang)?;
        if self.markup == Markup::Xhtml {
            self.write_str(" ")?;
            self.attribute("xml:lang", lang)?;
        }
        Ok(())
    }

    /// `name="value"`, the value escaped.
    fn attribute(&mut self, name: &str, value: &str) -> fmt::Result {
        self.write_str(name)?;
        self.write_str("=\"")?;
        self.escaped(value)?;
        self.write_str("\"")
    }

    /// `text` escaped as `escape_html` does it, written straight into the body
    /// rather than through a string of its own: a body has a dozen such
    /// pieces, and each feed writes every body in three markups.
    fn escaped(&mut self, text: &str) -> fmt::Result {
        escape_html_into(self, text)
    }

    /// `<a href="link">label</a>`, the link escaped; the label is markup.
    fn anchor(&mut self, link: &str, label: &str) -> fmt::Result {
        self.write_str("<a ")?;
        self.attribute("href", link)?;
        self.write_str(">")?;
        self.write_str(label)?;
        self.write_str("</a>")
    }
}

fn render_in(
    markup: Markup,
    sections: &[Section],
    others: &[&SourceRef],
    ui: &Lang,
    missing: Option<&Lang>,
) -> String {
    let texts: usize = sections.iter().map(|s| markup.text(s.text).len()).sum();
    let mut out = Out {
        markup,
        body: String::with_capacity(texts + 1024),
    };
    // Writing into a String cannot fail.
    let _ = write_body(&mut out, sections, others, ui, missing);
    out.body
}

fn write_body(
    out: &mut Out,
    sections: &[Section],
    others: &[&SourceRef],
    ui: &Lang,
    missing: Option<&Lang>,
) -> fmt::Result {
    let words = Words::of(ui);
    if let (Some(missing), Some(first)) = (missing, sections.first()) {
        out.write_str("<p ")?;
        out.lang(missing.as_str())?;
        out.write_str("><em>")?;
        out.write_str(words.original_text)?;
        out.write_str(" (")?;
        out.escaped(&first.variant.lang.as_str().to_ascii_uppercase())?;
        out.write_str(")</em></p>")?;
    }
    for section in sections {
        write_section(out, section)?;
    }
    if !others.is_empty() {
        write_others(out, others, &words)?;
    }
    Ok(())
}

fn write_section(out: &mut Out, section: &Section) -> fmt::Result {
    let v = section.variant;
    let words = Words::of(&v.lang);
    out.write_str("<div ")?;
    out.lang(v.lang.as_str())?;
    out.write_str(">")?;
    out.text(section.text);
    if let Some(link) = &v.link {
        out.write_str("<p>")?;
        out.anchor(link, words.read_more)?;
        out.write_str("</p>")?;
    }
    match &v.provenance {
        Provenance::Native { .. } => {}
        Provenance::Machine {
            engine,
            original_link,
            ..
        } => translation_mark(
            out,
            words.machine_translation,
            Some(engine),
            original_link.as_deref().or(section.original_link),
            &words,
        )?,
        Provenance::Edited { original_link, .. } => translation_mark(
            out,
            words.edited_translation,
            None,
            original_link.as_deref().or(section.original_link),
            &words,
        )?,
    }
    out.write_str("</div>")
}

/// "Machine translation (ENGINE)" or "Edited translation", and the original.
fn translation_mark(
    out: &mut Out,
    what: &str,
    engine: Option<&str>,
    original: Option<&str>,
    words: &Words,
) -> fmt::Result {
    out.write_str("<p><small>")?;
    out.write_str(what)?;
    if let Some(engine) = engine {
        out.write_str(" (")?;
        out.escaped(&xml_safe(engine))?;
        out.write_str(")")?;
    }
    if let Some(link) = original {
        out.write_str(" · ")?;
        out.write_str(words.original)?;
        out.write_str(": ")?;
        out.anchor(link, &escape_html(link))?;
    }
    out.write_str("</small></p>")
}

fn write_others(out: &mut Out, others: &[&SourceRef], words: &Words) -> fmt::Result {
    out.write_str("<p>")?;
    out.write_str(words.also_reported_by)?;
    out.write_str(" ")?;
    for (n, source) in others.iter().enumerate() {
        if n > 0 {
            out.write_str(", ")?;
        }
        match &source.link {
            Some(link) => out.anchor(link, &escape_html(&source.name))?,
            None => out.escaped(&source.name)?,
        }
    }
    out.write_str("</p>")
}

/// The feed's own words in one language; languages other than Polish get English.
struct Words {
    read_more: &'static str,
    machine_translation: &'static str,
    edited_translation: &'static str,
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
                edited_translation: "Tłumaczenie redakcyjne",
                original: "oryginał",
                also_reported_by: "Inne źródła:",
                original_text: "Tekst w języku oryginału",
            }
        } else {
            Words {
                read_more: "Read more",
                machine_translation: "Machine translation",
                edited_translation: "Edited translation",
                original: "original",
                also_reported_by: "Also reported by:",
                original_text: "Text in the original language",
            }
        }
    }
}
