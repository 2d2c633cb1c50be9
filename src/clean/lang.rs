//! An entry's language: declared, from the feed, or detected.

use std::sync::LazyLock;

use whatlang::Detector;

use crate::model::{Lang, LangOrigin};

/// Below this many characters detection guesses too often to overrule a declaration.
const MIN_DETECT_CHARS: usize = 80;

/// whatlang speaks ISO 639-3; the rest of hejnal speaks ISO 639-1.
const ISO_639_3_TO_1: &[(&str, &str)] = &[
    ("pol", "pl"),
    ("eng", "en"),
    ("deu", "de"),
    ("fra", "fr"),
    ("ukr", "uk"),
    ("rus", "ru"),
    ("ita", "it"),
    ("spa", "es"),
    ("ces", "cs"),
    ("slk", "sk"),
    ("hun", "hu"),
    ("lit", "lt"),
    ("nld", "nl"),
    ("por", "pt"),
    ("swe", "sv"),
    ("fin", "fi"),
    ("dan", "da"),
    ("nob", "no"),
    ("ron", "ro"),
    ("hrv", "hr"),
    ("slv", "sl"),
    ("srp", "sr"),
    ("bul", "bg"),
    ("bel", "be"),
    ("lav", "lv"),
    ("est", "et"),
    ("ell", "el"),
    ("tur", "tr"),
    ("jpn", "ja"),
    ("cmn", "zh"),
    ("heb", "he"),
    ("ara", "ar"),
    ("mkd", "mk"),
    ("cat", "ca"),
    ("kor", "ko"),
    ("vie", "vi"),
    ("hye", "hy"),
    ("kat", "ka"),
    ("lat", "la"),
    ("epo", "eo"),
    ("cym", "cy"),
    ("afr", "af"),
    ("ind", "id"),
    ("hin", "hi"),
    ("yid", "yi"),
];

/// Detection compares the text with every candidate language's profile, which is
/// most of its cost; a language hejnal cannot name would be discarded anyway.
static DETECTOR: LazyLock<Detector> = LazyLock::new(|| {
    Detector::with_allowlist(
        ISO_639_3_TO_1
            .iter()
            .filter_map(|(three, _)| whatlang::Lang::from_code(*three))
            .collect(),
    )
});

/// The language of `text`, only when whatlang is sure and the text is long enough.
pub fn detect(text: &str) -> Option<Lang> {
    if text.chars().nth(MIN_DETECT_CHARS - 1).is_none() {
        return None;
    }
    let info = DETECTOR.detect(text)?;
    if !info.is_reliable() {
        return None;
    }
    let code = info.lang().code();
    ISO_639_3_TO_1
        .iter()
        .find(|(three, _)| *three == code)
        .and_then(|(_, two)| Lang::parse(two))
}

/// Picks the language of an entry: the source's declaration, overruled by the feed's,
/// overruled by the item's, overruled by a confident detection that disagrees.
pub fn resolve(
    declared: &Lang,
    feed: Option<&str>,
    item: Option<&str>,
    text: &str,
) -> (Lang, LangOrigin) {
    let mut chosen = (declared.clone(), LangOrigin::Declared);
    for tagged in [feed, item].into_iter().flatten() {
        if let Some(lang) = Lang::parse(tagged) {
            chosen = (lang, LangOrigin::Feed);
        }
    }
    match detect(text) {
        Some(found) if found != chosen.0 => (found, LangOrigin::Detected),
        _ => chosen,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(code: &str) -> Lang {
        Lang::parse(code).unwrap_or_else(|| panic!("{code} is a language code"))
    }

    const POLISH: &str = "Prezydent Krakowa spotkał się dziś z mieszkańcami Nowej Huty, aby porozmawiać o \
                          budowie nowej linii tramwajowej i remoncie ulic w dzielnicy.";
    const ENGLISH: &str = "The mayor of Kraków met residents of Nowa Huta today to discuss the construction \
                           of a new tram line and the repair of streets in the district.";

    #[test]
    fn every_mapped_language_is_a_detection_candidate() {
        for (three, _) in ISO_639_3_TO_1 {
            assert!(whatlang::Lang::from_code(*three).is_some(), "{three}");
        }
    }

    #[test]
    fn detects_long_text_only() {
        assert_eq!(detect(POLISH), Some(lang("pl")));
        assert_eq!(detect(ENGLISH), Some(lang("en")));
        assert_eq!(detect("Kraków dziś"), None);
    }

    #[test]
    fn later_sources_of_truth_win() {
        let pl = lang("pl");
        assert_eq!(
            resolve(&pl, None, None, "krótko"),
            (pl.clone(), LangOrigin::Declared)
        );
        assert_eq!(
            resolve(&pl, Some("en-GB"), None, ""),
            (lang("en"), LangOrigin::Feed)
        );
        assert_eq!(
            resolve(&pl, Some("en"), Some("de"), ""),
            (lang("de"), LangOrigin::Feed)
        );
        assert_eq!(
            resolve(&pl, Some("nonsense"), None, ""),
            (pl.clone(), LangOrigin::Declared)
        );
    }

    #[test]
    fn confident_detection_overrules_a_wrong_declaration() {
        let pl = lang("pl");
        assert_eq!(
            resolve(&pl, Some("pl"), None, ENGLISH),
            (lang("en"), LangOrigin::Detected)
        );
        assert_eq!(
            resolve(&pl, Some("pl"), None, POLISH),
            (pl, LangOrigin::Feed)
        );
    }
}
