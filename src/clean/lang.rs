//! An entry's language: declared, from the feed, or detected.

use std::sync::LazyLock;

use whatlang::Detector;

use crate::model::{Lang, LangOrigin};

/// Below this many characters detection guesses too often to overrule a declaration.
const MIN_DETECT_CHARS: usize = 80;

/// Words that are frequent in one language and rare in the others whatlang knows
/// (words shared with a neighbour, like Slovak "sa" or Dutch "is", are left out).
/// A text full of them is plainly in that language.
const FUNCTION_WORDS: &[(&str, &[&str])] = &[
    (
        "pl",
        &[
            "w",
            "się",
            "jest",
            "oraz",
            "dla",
            "przez",
            "które",
            "który",
            "która",
            "których",
            "już",
            "lub",
            "będzie",
            "został",
            "została",
            "zostanie",
            "jego",
            "przy",
            "także",
            "również",
            "więc",
            "że",
            "są",
            "tym",
            "czy",
            "też",
            "może",
            "można",
            "jednak",
            "ponad",
            "wraz",
            "podczas",
            "będą",
            "był",
            "była",
            "było",
            "były",
            "nim",
            "tych",
        ],
    ),
    (
        "en",
        &[
            "the", "and", "with", "that", "are", "were", "this", "from", "which", "has", "have",
            "been", "their", "would", "after",
        ],
    ),
    (
        "de",
        &[
            "der", "die", "und", "das", "ist", "mit", "von", "den", "dem", "sich", "nicht", "eine",
            "einer", "wird", "werden", "auch", "für", "auf",
        ],
    ),
    (
        "fr",
        &[
            "le", "les", "et", "une", "dans", "pour", "sur", "avec", "sont", "aux", "ces", "été",
            "être", "leur",
        ],
    ),
];
/// Words read to see whether a text is plainly in its declared language.
const AGREEMENT_WORDS: usize = 80;
/// Percentage of those words that must be function words of the declared language.
const AGREEMENT_PERCENT: usize = 10;
/// The declared language's function words must outnumber any other's this many times.
const AGREEMENT_MARGIN: usize = 4;

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
    if text.chars().count() < MIN_DETECT_CHARS {
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
    // Detection is most of the cost of cleaning, and a text plainly in the chosen
    // language is one it would only confirm.
    if plainly_in(&chosen.0, text) {
        return chosen;
    }
    match detect(text) {
        Some(found) if found != chosen.0 => (found, LangOrigin::Detected),
        _ => chosen,
    }
}

/// Whether enough of the opening words of `text` are function words of `lang`,
/// and far more of them than of any other listed language.
fn plainly_in(lang: &Lang, text: &str) -> bool {
    let Some(own) = FUNCTION_WORDS
        .iter()
        .position(|(code, _)| *code == lang.as_str())
    else {
        return false;
    };
    let mut hits = [0usize; FUNCTION_WORDS.len()];
    let mut words = 0;
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(AGREEMENT_WORDS)
    {
        words += 1;
        for (count, (_, list)) in hits.iter_mut().zip(FUNCTION_WORDS) {
            if list.iter().any(|f| same_word(word, f)) {
                *count += 1;
            }
        }
    }
    let others = hits
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != own)
        .map(|(_, h)| *h)
        .max()
        .unwrap_or(0);
    hits[own] * 100 >= words * AGREEMENT_PERCENT && hits[own] >= AGREEMENT_MARGIN * others.max(1)
}

/// `word` in any case equals `lower`, which is written in lower case.
fn same_word(word: &str, lower: &str) -> bool {
    word.len() == lower.len() && word.chars().flat_map(char::to_lowercase).eq(lower.chars())
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

    const CZECH: &str = "Primátor Prahy se dnes setkal s obyvateli Žižkova, aby s nimi diskutoval o \
                         výstavbě nové tramvajové trati a o opravě ulic v této čtvrti.";

    #[test]
    fn only_function_words_of_the_declared_language_skip_detection() {
        let polish = format!(
            "{POLISH} Prace przy torowisku potrwają do końca sierpnia, a w tym czasie tramwaje \
             pojadą objazdem przez Rondo Mogilskie. Miasto zapowiada, że po remoncie przystanki \
             będą dostępne dla wszystkich."
        );
        assert!(plainly_in(&lang("pl"), &polish));
        assert!(!plainly_in(&lang("pl"), POLISH), "too few words to be sure");
        assert!(plainly_in(&lang("en"), ENGLISH));
        assert!(!plainly_in(&lang("en"), &polish));
        assert!(!plainly_in(&lang("pl"), ENGLISH));
        assert!(!plainly_in(&lang("pl"), CZECH));
        assert!(!plainly_in(&lang("cs"), CZECH), "no list for Czech: detect");
    }

    #[test]
    fn a_wrong_declaration_is_overruled_without_function_words() {
        assert_eq!(
            resolve(&lang("de"), None, None, ENGLISH),
            (lang("en"), LangOrigin::Detected)
        );
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
