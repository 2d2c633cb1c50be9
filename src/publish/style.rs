//! The stylesheet that makes a feed opened in a browser readable, and the
//! processing instruction that points the feeds at it.
//!
//! CSS rather than XSLT: browsers are removing XSLT (Chromium already covers
//! a feed that uses it with a warning), while CSS on an XML document needs
//! nothing but the stylesheet. There is one stylesheet per language of the
//! page's words, since CSS cannot read an RSS feed's `<language>`.

use super::OutputFile;
use crate::model::Lang;

/// The stylesheet, with HEADING and HELP where the words go.
const TEMPLATE: &str = include_str!("../../assets/feed.css");

/// The languages the stylesheet speaks; any other gets English.
const SPOKEN: [(&str, &str, &str); 2] = [
    (
        "pl",
        "To jest kanał wiadomości",
        "Kanał czyta czytnik kanałów, nie przeglądarka. Skopiuj ten adres do swojego czytnika, a nowe wiadomości przyjdą same, bez zakładania konta:",
    ),
    (
        "en",
        "This is a news feed",
        "A feed is read by a feed reader, not a browser. Copy this address into your feed reader and new stories will come to you, with no account needed:",
    ),
];

/// The stylesheet's file name for a feed in `lang`: "feed.pl.css" or "feed.en.css".
fn file_name(lang: &Lang) -> &'static str {
    if lang.as_str() == "pl" {
        "feed.pl.css"
    } else {
        "feed.en.css"
    }
}

/// Every stylesheet, published at the top of the output folder.
pub(crate) fn files() -> Vec<OutputFile> {
    SPOKEN
        .iter()
        .map(|(code, heading, help)| OutputFile {
            path: format!("feed.{code}.css").into(),
            bytes: TEMPLATE
                .replace("HEADING", heading)
                .replace("HELP", help)
                .into_bytes(),
        })
        .collect()
}

/// The `<?xml-stylesheet?>` instruction of a document in `lang` published at
/// `path`: it goes right after the XML declaration. The stylesheet is linked
/// relatively, so it comes from the same origin as the feed.
pub(crate) fn instruction(path: &str, lang: &Lang) -> String {
    let depth = path.matches('/').count();
    format!(
        "<?xml-stylesheet type=\"text/css\" href=\"{}{}\"?>",
        "../".repeat(depth),
        file_name(lang)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(code: &str) -> Lang {
        Lang::parse(code).unwrap()
    }

    #[test]
    fn the_instruction_climbs_out_of_each_folder_to_the_feeds_language() {
        assert_eq!(
            instruction("feed.xml", &lang("pl")),
            "<?xml-stylesheet type=\"text/css\" href=\"feed.pl.css\"?>"
        );
        assert_eq!(
            instruction("en/feed.atom", &lang("en")),
            "<?xml-stylesheet type=\"text/css\" href=\"../feed.en.css\"?>"
        );
        assert_eq!(
            instruction("archive/2026-10.xml", &lang("de")),
            "<?xml-stylesheet type=\"text/css\" href=\"../feed.en.css\"?>"
        );
    }

    #[test]
    fn each_stylesheet_names_every_placeholder_in_its_words() {
        let files = files();
        assert_eq!(files.len(), 2);
        for file in files {
            let css = String::from_utf8(file.bytes).unwrap();
            assert!(!css.contains("HEADING") && !css.contains("HELP"), "{css}");
            assert!(!css.contains("xsl"));
        }
    }
}
