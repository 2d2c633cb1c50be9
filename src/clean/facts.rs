//! The facts a telling states: its numbers, weekdays and months, each in one
//! spelling. Two announcements of the same kind ("closed on Monday", "closed
//! on Thursday") differ in one; cleaning signs an entry's facts once, and
//! grouping compares the texts of two entries only when the facts of one may
//! all be among the other's.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use unicode_normalization::char::is_combining_mark;
use xxhash_rust::xxh3::xxh3_64;

/// Every fact of a title and the plain text of its body.
pub fn facts(title: &str, text: &str) -> BTreeSet<String> {
    stated(title, text).collect()
}

/// The facts of a title and text as they come, repeats and all.
fn stated<'t>(title: &'t str, text: &'t str) -> impl Iterator<Item = String> + 't {
    spans(title)
        .chain(spans(text))
        .filter_map(|(raw, _)| fact(raw))
}

/// [`facts`] as an entry carries them: each fact sets one of 64 bits, chosen
/// by its hash. Eight bytes whatever the text, kept with every entry a
/// lookup meets; a text states a fact or two, so two seldom share a bit.
/// Stored signatures are compared with new ones, so a change to what counts
/// as a fact must come with a schema step that signs the stored entries again.
pub fn signature(title: &str, text: &str) -> u64 {
    stated(title, text).fold(0, |bits, fact| bits | 1 << (xxh3_64(fact.as_bytes()) % 64))
}

/// Whether, by their signatures, the facts of one telling may all be among
/// the other's. When not, the two are two announcements; when so, only
/// reading them tells, since two facts may share a bit.
pub fn may_agree(a: u64, b: u64) -> bool {
    a & !b == 0 || b & !a == 0
}

/// Runs of letters and digits, each with whether a sentence ends after it. A
/// point or comma between digits belongs to the number ("1.2", "14,5", "22.00").
pub(crate) fn raw_words(text: &str) -> Vec<(&str, bool)> {
    let spans: Vec<(&str, usize)> = spans(text).collect();
    let mut words = Vec::with_capacity(spans.len());
    for (k, &(word, end)) in spans.iter().enumerate() {
        // What lies between this word and the next says whether a sentence
        // ends here; a text that stops inside a word ends one.
        let next = spans.get(k + 1).map_or(text.len(), |&(w, e)| e - w.len());
        let ends = end == text.len() || ends_sentence(word, &text[end..next]);
        words.push((word, ends));
    }
    words
}

/// Whether `gap`, the text between `word` and the next one, ends a
/// sentence: a point, unless it closes an abbreviation written right
/// before it; an exclamation or question mark; a colon.
fn ends_sentence(word: &str, gap: &str) -> bool {
    gap.char_indices().any(|(i, c)| match c {
        '.' => {
            let closes_word = i == 0 && word.chars().last().is_some_and(char::is_alphanumeric);
            !(closes_word && is_abbreviation(word))
        }
        '!' | '?' | ':' => true,
        _ => false,
    })
}

/// The words of `text`, each with the byte offset where it ends. Every
/// character of every stored text passes here: the Unicode tables are asked
/// only about characters beyond ASCII.
fn spans(text: &str) -> impl Iterator<Item = (&str, usize)> {
    let bytes = text.as_bytes();
    // A character that is not ASCII, with its length, when one starts at `i`.
    let wide_at = move |i: usize| -> Option<(char, usize)> {
        let c = text.get(i..)?.chars().next()?;
        Some((c, c.len_utf8()))
    };
    let wide_in_word = |c: char| c.is_alphanumeric() || is_combining_mark(c);
    let mut at = 0;
    std::iter::from_fn(move || {
        let start = loop {
            let b = *bytes.get(at)?;
            if b.is_ascii_alphanumeric() {
                break at;
            } else if b.is_ascii() {
                at += 1;
            } else {
                let (c, len) = wide_at(at)?;
                if wide_in_word(c) {
                    break at;
                }
                at += len;
            }
        };
        while let Some(&b) = bytes.get(at) {
            if b.is_ascii_alphanumeric() {
                at += 1;
            } else if matches!(b, b'.' | b',')
                && bytes[at - 1].is_ascii_digit()
                && bytes.get(at + 1).is_some_and(u8::is_ascii_digit)
            {
                at += 2;
            } else if b.is_ascii() {
                break;
            } else {
                match wide_at(at) {
                    Some((c, len)) if wide_in_word(c) => at += len,
                    _ => break,
                }
            }
        }
        Some((&text[start..at], at))
    })
}

/// Abbreviations written before a street, a stop, an hour or a number, in lower
/// case: their point ends no sentence, so "ul. Balickiej" and "ul. Lea" are a
/// changed name inside one, not two sentences of their own.
const ABBREVIATIONS: &[&str] = &[
    "ul", "al", "pl", "os", "godz", "nr", "ok", "tel", "św", "im", "ks", "gen", "prof", "dr",
    "str", "ca", "hl", "st", "ave", "rd", "no", "mt",
];

fn is_abbreviation(word: &str) -> bool {
    word.chars().count() <= 5 && ABBREVIATIONS.contains(&word.to_lowercase().as_str())
}

/// The one spelling of a number, weekday or month, if the word is one.
pub(crate) fn fact(raw: &str) -> Option<String> {
    if raw.bytes().any(|b| b.is_ascii_digit()) {
        // "05" and "5" are one day; "1.2" and "12" are two lengths; "65th" is a number.
        let number = raw.replace(',', ".");
        let trimmed = number.trim_start_matches('0');
        let trimmed = if trimmed.is_empty() || trimmed.starts_with('.') {
            &number[number.len() - trimmed.len() - 1..]
        } else {
            trimmed
        };
        return Some(format!("#{}", trimmed.to_lowercase()));
    }
    if let Some(n) = roman(raw) {
        return Some(format!("#{n}"));
    }
    named_fact(raw)
}

/// The longest weekday, month or number word, in bytes, with room to spare.
const MAX_NAMED_FACT_BYTES: usize = 32;

/// Weekdays, months and numbers written out, lower case, with their one spelling.
static NAMED_FACTS: LazyLock<HashMap<&'static str, String>> = LazyLock::new(|| {
    let days = WEEKDAYS
        .iter()
        .enumerate()
        .map(|(n, names)| (names, format!("day{n}")));
    let months = MONTHS
        .iter()
        .enumerate()
        .map(|(n, names)| (names, format!("month{n}")));
    let mut named = HashMap::new();
    for (names, spelling) in days.chain(months) {
        for name in *names {
            named.entry(*name).or_insert_with(|| spelling.clone());
        }
    }
    for word in NUMBER_WORDS {
        named.entry(*word).or_insert_with(|| (*word).to_string());
    }
    named
});

/// For each pair of first and last letters a–z, the lengths in bytes (bit
/// n: n bytes, up to 30) of the names with them: most words are passed over
/// on these three without being lower-cased and looked up. Lowering keeps the
/// length of every letter the names are written with.
static NAMED_SHAPES: LazyLock<Box<[u32]>> = LazyLock::new(|| {
    let mut shapes = vec![0u32; 26 * 26].into_boxed_slice();
    for name in NAMED_FACTS.keys() {
        if let Some(shape) = shape_of(name) {
            shapes[shape.0] |= shape.1;
        }
    }
    shapes
});

/// Where a word's first and last letters put it in `NAMED_SHAPES`, and the
/// bit of its length; none unless both letters are ASCII.
fn shape_of(word: &str) -> Option<(usize, u32)> {
    let bytes = word.as_bytes();
    let letter = |b: &u8| {
        b.is_ascii_alphabetic()
            .then(|| usize::from(b.to_ascii_lowercase() - b'a'))
    };
    let (first, last) = (letter(bytes.first()?)?, letter(bytes.last()?)?);
    Some((first * 26 + last, 1 << word.len().min(31)))
}

/// A weekday, month or number written out. Every word of every text is looked
/// up, so it is lower-cased on the stack rather than into a new string.
fn named_fact(raw: &str) -> Option<String> {
    if let Some((at, length)) = shape_of(raw)
        && NAMED_SHAPES[at] & length == 0
    {
        return None;
    }
    let mut lower = [0u8; MAX_NAMED_FACT_BYTES];
    let mut len = 0;
    for c in raw.chars().flat_map(char::to_lowercase) {
        let end = len + c.len_utf8();
        c.encode_utf8(lower.get_mut(len..end)?);
        len = end;
    }
    let lower = std::str::from_utf8(&lower[..len]).ok()?;
    NAMED_FACTS.get(lower).cloned()
}

/// The value of an upper-case Roman numeral of two letters or more, written the
/// canonical way ("XII", not "XIIII"); "I" alone is a pronoun.
fn roman(raw: &str) -> Option<u32> {
    // No numeral a council or a festival counts with is longer than "MMMDCCCLXXXVIII".
    if !(2..=15).contains(&raw.len()) || !raw.bytes().all(|b| b"IVXLCDM".contains(&b)) {
        return None;
    }
    let value = |b: u8| match b {
        b'I' => 1,
        b'V' => 5,
        b'X' => 10,
        b'L' => 50,
        b'C' => 100,
        b'D' => 500,
        _ => 1000,
    };
    let bytes = raw.as_bytes();
    let mut total = 0u32;
    for (i, &b) in bytes.iter().enumerate() {
        let v = value(b);
        if bytes.get(i + 1).is_some_and(|&next| value(next) > v) {
            total = total.checked_sub(v)?;
        } else {
            total += v;
        }
    }
    (to_roman(total) == raw).then_some(total)
}

fn to_roman(mut n: u32) -> String {
    const DIGITS: [(u32, &str); 13] = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut out = String::new();
    for (value, digits) in DIGITS {
        while n >= value {
            out.push_str(digits);
            n -= value;
        }
    }
    out
}

/// Weekday names in lower case, in the cases Polish, German and English write
/// them. Diacritics are kept: folded, Polish "mają" (they have) reads "maja" (of May).
const WEEKDAYS: [&[&str]; 7] = [
    &[
        "poniedziałek",
        "poniedziałku",
        "poniedziałki",
        "montag",
        "montags",
        "monday",
        "mondays",
    ],
    &[
        "wtorek",
        "wtorku",
        "wtorki",
        "dienstag",
        "dienstags",
        "tuesday",
        "tuesdays",
    ],
    &[
        "środa",
        "środę",
        "środy",
        "środzie",
        "mittwoch",
        "mittwochs",
        "wednesday",
        "wednesdays",
    ],
    &[
        "czwartek",
        "czwartku",
        "czwartki",
        "donnerstag",
        "donnerstags",
        "thursday",
        "thursdays",
    ],
    &[
        "piątek", "piątku", "piątki", "freitag", "freitags", "friday", "fridays",
    ],
    &[
        "sobota",
        "sobotę",
        "soboty",
        "sobocie",
        "samstag",
        "samstags",
        "sonnabend",
        "saturday",
        "saturdays",
    ],
    &[
        "niedziela",
        "niedzielę",
        "niedzieli",
        "sonntag",
        "sonntags",
        "sunday",
        "sundays",
    ],
];

/// Month names in lower case. English "may" and "march" are left out: they are also verbs.
const MONTHS: [&[&str]; 12] = [
    &[
        "styczeń", "stycznia", "styczniu", "januar", "jänner", "january",
    ],
    &["luty", "lutego", "lutym", "februar", "february"],
    &["marzec", "marca", "marcu", "märz"],
    &["kwiecień", "kwietnia", "kwietniu", "april"],
    &["maj", "maja", "maju", "mai"],
    &["czerwiec", "czerwca", "czerwcu", "juni", "june"],
    &["lipiec", "lipca", "lipcu", "juli", "july"],
    &["sierpień", "sierpnia", "sierpniu", "august"],
    &["wrzesień", "września", "wrześniu", "september"],
    &[
        "październik",
        "października",
        "październiku",
        "oktober",
        "october",
    ],
    &["listopad", "listopada", "listopadzie", "november"],
    &["grudzień", "grudnia", "grudniu", "dezember", "december"],
];

/// Numbers written out, in lower case: "linia cztery" and "linia pięć" are two lines.
const NUMBER_WORDS: &[&str] = &[
    "jeden",
    "jedna",
    "jedno",
    "dwa",
    "dwie",
    "trzy",
    "cztery",
    "pięć",
    "sześć",
    "siedem",
    "osiem",
    "dziewięć",
    "dziesięć",
    "jedenaście",
    "dwanaście",
    "piętnaście",
    "dwadzieścia",
    "trzydzieści",
    "czterdzieści",
    "pięćdziesiąt",
    "sto",
    "dwieście",
    "trzysta",
    "tysiąc",
    "tysiące",
    "tysięcy",
    "pierwszy",
    "pierwszego",
    "pierwsza",
    "drugi",
    "drugiego",
    "druga",
    "trzeci",
    "trzeciego",
    "trzecia",
    "czwarty",
    "czwartego",
    "piąty",
    "piątego",
    "eins",
    "zwei",
    "drei",
    "vier",
    "fünf",
    "sechs",
    "sieben",
    "acht",
    "neun",
    "zehn",
    "elf",
    "zwölf",
    "zwanzig",
    "hundert",
    "tausend",
    "erste",
    "zweite",
    "dritte",
    "vierte",
    "fünfte",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "twenty",
    "hundred",
    "thousand",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roman_numerals_are_read_only_in_their_canonical_form() {
        assert_eq!(roman("XII"), Some(12));
        assert_eq!(roman("XIV"), Some(14));
        assert_eq!(roman("IIII"), None);
        assert_eq!(roman("I"), None);
        assert_eq!(roman("IM"), None);
        assert_eq!(fact("XII"), fact("12"));
        assert_eq!(roman(&"M".repeat(100_000)), None);
    }

    #[test]
    fn facts_are_read_with_their_diacritics() {
        assert_eq!(fact("maja"), Some("month4".to_string()));
        assert_eq!(fact("mają"), None);
        assert_eq!(fact("Środę"), fact("środa"));
        assert_eq!(fact("05"), fact("5"));
        assert_ne!(fact("1.2"), fact("12"));
        assert_eq!(fact("65th"), Some("#65th".to_string()));
    }

    #[test]
    fn signatures_part_announcements_and_keep_retellings() {
        let monday = "Closed on Monday 12 May, 10.00 to 14.00.";
        assert_eq!(
            facts("", monday).into_iter().collect::<Vec<_>>(),
            ["#10.00", "#12", "#14.00", "day0"]
        );
        let sign = |text: &str| signature("", text);
        assert_eq!(sign(monday).count_ones(), 4);
        assert!(may_agree(sign(monday), sign("Closed on Monday 12 May.")));
        assert!(may_agree(sign("Closed."), sign(monday)));
        assert!(!may_agree(sign(monday), sign("Closed on Tuesday 12 May.")));
        // Thursday signs the bit 12 does: a maybe, which reading the texts settles.
        assert!(may_agree(sign(monday), sign("Closed on Thursday 12 May.")));
        assert_eq!(sign("Closed on Monday."), sign("closed on MONDAY"));
        assert!(may_agree(0, 0));
    }
}
