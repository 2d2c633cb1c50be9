//! An entry's language: declared, from the feed, or detected.

use std::sync::LazyLock;

use whatlang::Detector;

use crate::model::{Lang, LangOrigin};

/// Below this many characters detection guesses too often to overrule a declaration.
const MIN_DETECT_CHARS: usize = 80;

/// What plainly marks a text as written in one language, for the languages whose
/// declaration is checked before detection is paid for.
struct Profile {
    code: &'static str,
    /// Words that are frequent in this language and rare in the others whatlang
    /// knows (words shared with a neighbour, like Slovak "sa" or Dutch "is", are
    /// left out).
    function_words: &'static [&'static str],
    /// The letters beyond a–z in whatlang's alphabet of the language, in lower
    /// case. Any other letter is foreign to the language.
    letters: &'static [char],
    /// Letters no other mapped language writes without letters foreign to this
    /// one; empty when every letter of the language is shared with a neighbour
    /// that may have no others (German ä ö ü with Finnish, Swedish, Estonian).
    distinctive: &'static [char],
}

const PROFILES: &[Profile] = &[
    Profile {
        code: "pl",
        function_words: &[
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
        letters: &['ó', 'ą', 'ć', 'ę', 'ł', 'ń', 'ś', 'ź', 'ż'],
        distinctive: &['ą', 'ć', 'ę', 'ł', 'ń', 'ś', 'ź', 'ż'],
    },
    Profile {
        code: "en",
        function_words: &[
            "the", "and", "with", "that", "are", "were", "this", "from", "which", "has", "have",
            "been", "their", "would", "after",
        ],
        letters: &[],
        distinctive: &[],
    },
    Profile {
        code: "de",
        function_words: &[
            "der", "die", "und", "das", "ist", "mit", "von", "den", "dem", "sich", "nicht", "eine",
            "einer", "wird", "werden", "auch", "für", "auf",
        ],
        letters: &['ä', 'ö', 'ü', 'ß'],
        distinctive: &[],
    },
    Profile {
        code: "fr",
        function_words: &[
            "le", "les", "et", "une", "dans", "pour", "sur", "avec", "sont", "aux", "ces", "été",
            "être", "leur",
        ],
        letters: &[
            'à', 'â', 'ç', 'è', 'é', 'ê', 'ë', 'î', 'ï', 'ô', 'ù', 'û', 'ü', 'ÿ', 'œ',
        ],
        distinctive: &[],
    },
];
/// Function words are at most this many bytes long ("również" has 9); a word
/// fits one 128-bit key.
const MAX_FUNCTION_WORD_BYTES: usize = 16;
/// Words read to see whether a text is plainly in its declared language.
const AGREEMENT_WORDS: usize = 80;
/// Percentage of those words that must be function words of the declared language.
const AGREEMENT_PERCENT: usize = 10;
/// The declared language's function words must outnumber any other's this many times.
const AGREEMENT_MARGIN: usize = 4;
/// A text with more letters foreign to the declared language than this percentage
/// is always detected: it may be partly in another language.
const FOREIGN_LETTERS_PERCENT: usize = 1;
/// Percentage of the letters that must be distinctive of the declared language,
/// counted in words that start in lower case (see `plainly_in`).
const DISTINCTIVE_LETTERS_PERCENT: usize = 1;
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

/// Whether the opening words of `text` are plainly in `lang`, so that detection
/// could only confirm it. Two kinds of evidence count, each only when at most
/// `FOREIGN_LETTERS_PERCENT` of the letters are foreign to the language (half a
/// text in another language, under a declared headline, is for detection to weigh):
///
/// - enough function words of the language, and far more of them than of any
///   other listed language;
/// - letters distinctive of the language (Polish ą ć ę ł ń ś ź ż) and no function
///   word of another listed language. Only letters in words that start in lower
///   case count: place and people's names (Łódź, Gdańsk) carry Polish letters
///   into texts in other languages, and a text of names in Italian or English
///   would otherwise pass. Telegraphic headlines and summaries ("Rada Miasta
///   ogłasza remont torowiska") have few function words but plenty of these.
///
/// Checked against always detecting, over every text the tests use, 900 benchmark
/// texts, mixes of two languages and texts in Czech, Slovak, Lithuanian,
/// Croatian, Sorbian and others, each declared as 14 languages: no result differs
/// (BENCHMARKS.md, "Language resolution and SimHash: session 3").
fn plainly_in(lang: &Lang, text: &str) -> bool {
    let Some(own) = PROFILES.iter().position(|p| p.code == lang.as_str()) else {
        return false;
    };
    let profile = &PROFILES[own];
    let evidence = Evidence::read(profile, text);
    if evidence.foreign * 100 > evidence.letters * FOREIGN_LETTERS_PERCENT {
        return false;
    }
    let others = evidence
        .hits
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != own)
        .map(|(_, h)| *h)
        .max()
        .unwrap_or(0);
    let mine = evidence.hits[own];
    let by_words = mine * 100 >= evidence.words * AGREEMENT_PERCENT
        && mine >= AGREEMENT_MARGIN * others.max(1);
    let by_letters = others == 0
        && evidence.distinctive > 0
        && evidence.distinctive * 100 >= evidence.letters * DISTINCTIVE_LETTERS_PERCENT;
    by_words || by_letters
}

/// What the opening `AGREEMENT_WORDS` words of a text say about one language.
#[derive(Default)]
struct Evidence {
    words: usize,
    /// Function words of each profile, in `PROFILES` order.
    hits: [usize; PROFILES.len()],
    letters: usize,
    /// Distinctive letters of the language in words that start in lower case.
    distinctive: usize,
    /// Letters outside the language's alphabet.
    foreign: usize,
}

impl Evidence {
    /// One pass over the characters, without an iterator per word: this runs for
    /// every entry, and detection it saves is only worth it when it is cheap.
    /// ASCII, most of any Latin text, is read as bytes, without decoding and
    /// without Unicode tables.
    fn read(profile: &Profile, text: &str) -> Evidence {
        let mut evidence = Evidence::default();
        let mut word = Word::default();
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii() {
                i += 1;
                if b.is_ascii_alphanumeric() {
                    word.push_ascii(b);
                    evidence.letters += usize::from(b.is_ascii_alphabetic());
                    continue;
                }
            } else {
                let c = text[i..].chars().next().unwrap_or_default();
                i += c.len_utf8();
                if c.is_alphanumeric() {
                    word.push(c);
                    evidence.read_letter(profile, c, word.first_lower_case);
                    continue;
                }
            }
            if word.bytes > 0 {
                evidence.end_word(&word);
                if evidence.words == AGREEMENT_WORDS {
                    return evidence;
                }
                word = Word::default();
            }
        }
        if word.bytes > 0 {
            evidence.end_word(&word);
        }
        evidence
    }

    fn end_word(&mut self, word: &Word) {
        self.words += 1;
        let lists = word.function_word_lists();
        for (k, count) in self.hits.iter_mut().enumerate() {
            *count += usize::from(lists & (1 << k) != 0);
        }
    }

    /// Counts `c`, a character beyond ASCII of a word that starts in lower case or not.
    fn read_letter(&mut self, profile: &Profile, c: char, lower_case_word: bool) {
        // The language's own letters first: they need no Unicode table.
        let lower = c.to_lowercase().next().unwrap_or(c);
        if profile.letters.contains(&lower) {
            self.letters += 1;
            self.distinctive +=
                usize::from(lower_case_word && profile.distinctive.contains(&lower));
        } else if c.is_alphabetic() {
            self.letters += 1;
            self.foreign += 1;
        }
    }
}

/// A word being read: its lower-case form, as far as a function word can be long.
#[derive(Default)]
struct Word {
    lower: [u8; MAX_FUNCTION_WORD_BYTES],
    lower_len: usize,
    /// Length of the word as written.
    bytes: usize,
    /// Longer than any function word, as written or in lower case.
    too_long: bool,
    first_lower_case: bool,
}

impl Word {
    /// Adds `c`, a character beyond ASCII.
    fn push(&mut self, c: char) {
        if self.bytes == 0 {
            self.first_lower_case = c.is_lowercase();
        }
        self.bytes += c.len_utf8();
        self.too_long |= self.bytes > MAX_FUNCTION_WORD_BYTES;
        if self.too_long {
            return;
        }
        for lower in c.to_lowercase() {
            let end = self.lower_len + lower.len_utf8();
            if end > MAX_FUNCTION_WORD_BYTES {
                self.too_long = true;
                return;
            }
            lower.encode_utf8(&mut self.lower[self.lower_len..end]);
            self.lower_len = end;
        }
    }

    fn push_ascii(&mut self, b: u8) {
        if self.bytes == 0 {
            self.first_lower_case = b.is_ascii_lowercase();
        }
        self.bytes += 1;
        self.too_long |= self.bytes > MAX_FUNCTION_WORD_BYTES;
        if self.too_long {
            return;
        }
        if self.lower_len < MAX_FUNCTION_WORD_BYTES {
            self.lower[self.lower_len] = b.to_ascii_lowercase();
            self.lower_len += 1;
        } else {
            // Lower-casing lengthened an earlier letter: no function word is this long.
            self.too_long = true;
        }
    }

    /// The profiles (one bit each) whose function words include this word in any
    /// case. As written, it must be as long as the function word.
    fn function_word_lists(&self) -> u8 {
        if self.too_long || self.lower_len != self.bytes {
            return 0;
        }
        FUNCTION_WORDS.lists(word_key(&self.lower[..self.lower_len]))
    }
}

/// A word of at most `MAX_FUNCTION_WORD_BYTES` bytes as one number, zero-padded:
/// a comparison is one instruction. No word is zero.
fn word_key(word: &[u8]) -> u128 {
    let mut bytes = [0u8; MAX_FUNCTION_WORD_BYTES];
    bytes[..word.len()].copy_from_slice(word);
    u128::from_be_bytes(bytes)
}

/// Slots of the function word table; a power of two, well above the 86 words
/// so that most words not in it are told apart at the first slot.
const WORD_SLOTS: usize = 256;

/// Every function word of every profile, with a bit per profile whose list holds
/// it, in an open-addressed hash table: most words of a text are not function
/// words, and the first slot looked at usually says so.
struct FunctionWords([(u128, u8); WORD_SLOTS]);

impl FunctionWords {
    fn build() -> FunctionWords {
        let mut table = FunctionWords([(0, 0); WORD_SLOTS]);
        for (k, profile) in PROFILES.iter().enumerate() {
            for word in profile.function_words {
                let key = word_key(word.as_bytes());
                let slot = table.slot(key);
                table.0[slot].0 = key;
                table.0[slot].1 |= 1 << k;
            }
        }
        table
    }

    /// The slot holding `key`, or the empty one where it would go.
    fn slot(&self, key: u128) -> usize {
        // The first eight bytes, folded with the rest, mixed by a multiplication
        // whose top byte depends on all of them.
        let folded = (key >> 64) as u64 ^ key as u64;
        let mut slot = (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize;
        while self.0[slot].0 != key && self.0[slot].0 != 0 {
            slot = (slot + 1) % WORD_SLOTS;
        }
        slot
    }

    /// The profiles (one bit each) listing the word `key`.
    fn lists(&self, key: u128) -> u8 {
        self.0[self.slot(key)].1
    }
}

static FUNCTION_WORDS: LazyLock<FunctionWords> = LazyLock::new(FunctionWords::build);

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
    fn only_evidence_of_the_declared_language_skips_detection() {
        let polish = format!(
            "{POLISH} Prace przy torowisku potrwają do końca sierpnia, a w tym czasie tramwaje \
             pojadą objazdem przez Rondo Mogilskie. Miasto zapowiada, że po remoncie przystanki \
             będą dostępne dla wszystkich."
        );
        assert!(plainly_in(&lang("pl"), &polish));
        assert!(
            plainly_in(&lang("pl"), POLISH),
            "too few function words, but Polish letters throughout"
        );
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

    /// Headlines and summaries as city halls write them: next to no function
    /// words, Polish letters in almost every phrase.
    const TELEGRAPHIC_POLISH: &[&str] = &[
        "Zarząd Dróg Miasta ogłasza remont torowiska na Kazimierzu (1838) Wojewoda \
         małopolski ogłasza ścieżkę rowerową wzdłuż Wisły na Zabłociu. Straż Miejska \
         wstrzymuje modernizację oświetlenia w Prądniku Białym od poniedziałku.",
        "Miejskie Przedsiębiorstwo Komunikacyjne uruchamia nowy żłobek na Dębnikach. \
         Rada Miasta Krakowa przedstawia strefę płatnego parkowania pod Wawelem do \
         końca miesiąca. Wydział Edukacji kończy nabór do szkół średnich.",
    ];

    #[test]
    fn telegraphic_polish_skips_detection_only_where_detection_agrees() {
        let pl = lang("pl");
        for text in TELEGRAPHIC_POLISH {
            assert!(plainly_in(&pl, text), "{text}");
            assert!(
                matches!(detect(text), Some(ref found) if *found == pl),
                "detection must agree with skipping it: {text}"
            );
        }
    }

    #[test]
    fn czech_and_slovak_declared_polish_are_still_detected() {
        // Polish words and names in both: only the letters foreign to Polish
        // keep them from passing as plainly Polish.
        let czech = "Městská rada přijala usnesení o rekonstrukci náměstí. Práce začnou na \
                     jaře a potrvají do podzimu. Na trhu se prodává żurek, bigos a gołąbki \
                     z Łodzi a Gdańsku.";
        let slovak = "Mestská rada prijala uznesenie o rekonštrukcii námestia. Práce sa \
                      začnú na jar a potrvajú do jesene. Na trhu sa predáva żurek, bigos a \
                      gołąbki z Łodzi a Gdańsku.";
        let pl = lang("pl");
        assert_eq!(
            resolve(&pl, None, None, czech),
            (lang("cs"), LangOrigin::Detected)
        );
        assert_eq!(
            resolve(&pl, None, None, slovak),
            (lang("sk"), LangOrigin::Detected)
        );
    }

    #[test]
    fn polish_place_names_are_no_evidence_of_polish() {
        let italian = "Cambiamenti di orario: stazioni Łódź Kaliska, Łódź Fabryczna, Gdańsk \
                       Wrzeszcz, Poznań Główny chiuse durante i lavori; autobus sostitutivi \
                       ogni dieci minuti.";
        assert_eq!(
            resolve(&lang("pl"), None, None, italian),
            (lang("it"), LangOrigin::Detected)
        );
    }

    #[test]
    fn half_a_text_in_another_language_is_for_detection_to_weigh() {
        let text = format!(
            "{} Der Stadtrat beschließt den Bürgerhaushalt in der Altstadt. Die Feuerwehr \
             plant die Sanierung der Straßenbahngleise am Plärrer.",
            TELEGRAPHIC_POLISH[0]
        );
        assert_eq!(
            resolve(&lang("de"), None, None, &text),
            (lang("pl"), LangOrigin::Detected)
        );
    }

    #[test]
    fn function_words_count_in_any_case() {
        let polish = format!(
            "{POLISH} Prace przy torowisku potrwają do końca sierpnia, a w tym czasie tramwaje \
             pojadą objazdem przez Rondo Mogilskie."
        );
        assert!(plainly_in(&lang("pl"), &polish.to_uppercase()));
    }

    #[test]
    fn the_table_finds_every_function_word_and_nothing_else() {
        for (k, profile) in PROFILES.iter().enumerate() {
            for word in profile.function_words {
                let lists = FUNCTION_WORDS.lists(word_key(word.as_bytes()));
                assert_ne!(lists & (1 << k), 0, "{word} of {}", profile.code);
            }
        }
        // "die" is listed by German alone.
        assert_eq!(FUNCTION_WORDS.lists(word_key(b"die")), 1 << 2);
        for word in ["kraków", "tramwaj", "wi", "ther", "dies", "również1"] {
            assert_eq!(FUNCTION_WORDS.lists(word_key(word.as_bytes())), 0, "{word}");
        }
    }

    #[test]
    fn every_function_word_fits_a_key_and_is_lower_case() {
        for profile in PROFILES {
            for word in profile.function_words {
                assert!(word.len() <= MAX_FUNCTION_WORD_BYTES, "{word}");
                assert_eq!(word.to_lowercase(), *word);
            }
        }
    }
}
