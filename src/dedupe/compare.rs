//! Whether two texts that look alike tell the same story.
//!
//! Fingerprints find texts that share most of their words; they cannot see that
//! "closed on Monday" and "closed on Thursday" are two announcements. This
//! module aligns the two texts word by word and looks at what differs: whole
//! sentences added or dropped (a correction, a dateline, a different lead) are
//! how one story is retold, while a short substitution of a number, a date or a
//! name is how the next announcement of the same kind is written.

use std::cell::OnceCell;
use std::collections::BTreeSet;

use crate::clean::facts::{fact, facts, raw_words};
use crate::clean::fingerprint::fold_word;

/// Words compared from the start of each text; the alignment costs their product.
const MAX_COMPARED_WORDS: usize = 400;
/// A substitution this short (on both sides) is a changed detail, not a rewrite.
const SHORT_SUBSTITUTION: usize = 4;
/// Bodies shorter than this say too little alone; the title joins them.
const MIN_BODY_WORDS: usize = 12;
/// A shorter body is never compared without its title.
const MIN_BODY_ALONE_WORDS: usize = 6;
/// Share of the shorter text that must reappear, in order, in the longer one.
const MIN_SHARED: f64 = 0.85;
/// A different opening is how a syndicating site writes its own lead; one of
/// up to this share of a text is left out of the comparison.
const MAX_LEAD_SHARE: f64 = 0.5;
/// Consecutive shared words that mark where two texts start to agree.
const LEAD_SETTLES: usize = 3;

/// One side of a comparison: a title and the plain text of its body.
#[derive(Debug, Clone, Copy)]
pub struct Telling<'a> {
    pub title: &'a str,
    pub text: &'a str,
}

/// A telling read once, for every comparison it takes part in: a candidate
/// of a cold start meets many entries. Its facts are read first; most
/// candidates differ in one, and then their words are never read.
#[derive(Debug)]
pub struct Reading {
    title: String,
    text: String,
    /// Every fact of the title and body, each in one spelling ("XII" and "12" agree).
    facts: BTreeSet<String>,
    words: OnceCell<ReadWords>,
}

#[derive(Debug)]
struct ReadWords {
    title: Vec<Word>,
    body: Vec<Word>,
    /// The body's words, or the title's and the body's when the body is short.
    compared: Vec<Word>,
}

impl Reading {
    pub fn new(title: String, text: String) -> Reading {
        Reading {
            facts: facts(&title, &text),
            title,
            text,
            words: OnceCell::new(),
        }
    }

    fn words(&self) -> &ReadWords {
        self.words.get_or_init(|| {
            let title = words(&self.title);
            let body = words(&self.text);
            let compared = if body.len() >= MIN_BODY_WORDS {
                body.iter().take(MAX_COMPARED_WORDS).cloned().collect()
            } else {
                title
                    .iter()
                    .chain(&body)
                    .take(MAX_COMPARED_WORDS)
                    .cloned()
                    .collect()
            };
            ReadWords {
                title,
                body,
                compared,
            }
        })
    }
}

/// How alike two tellings are, when nothing sets them apart.
pub fn same_story(a: Telling<'_>, b: Telling<'_>) -> Option<f64> {
    let read = |t: Telling<'_>| Reading::new(t.title.to_string(), t.text.to_string());
    same_reading(&read(a), &read(b))
}

/// [`same_story`] of two tellings already read.
pub fn same_reading(a: &Reading, b: &Reading) -> Option<f64> {
    if !a.facts.is_subset(&b.facts) && !b.facts.is_subset(&a.facts) {
        return None;
    }
    let (a, b) = (a.words(), b.words());
    if let Some(shared) = compare(&a.compared, &b.compared) {
        return Some(shared);
    }
    // A short body is compared with its title, and a copy under a headline of
    // its own then keeps too little of it: the bodies alone decide when they
    // tell a number, a day or a month (a notice, not a "read more" line), unless
    // the two headlines name places or things the other telling never mentions.
    let alone = |body: &[Word]| {
        body.len() >= MIN_BODY_ALONE_WORDS && body.iter().any(|w| w.kind == Kind::Fact)
    };
    let short = a.body.len().min(b.body.len()) < MIN_BODY_WORDS;
    if short && alone(&a.body) && alone(&b.body) && !headlines_name_apart(a, b) {
        return compare(&a.body, &b.body);
    }
    None
}

/// How much of the shorter word list reappears in order in the longer one,
/// when no changed detail sets them apart.
fn compare(a: &[Word], b: &[Word]) -> Option<f64> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let alignment = Alignment::of(a, b);
    if alignment.substitutes_a_detail(a, b) {
        return None;
    }
    let shared = alignment.shared();
    (shared >= MIN_SHARED).then_some(shared)
}

/// Whether each headline names, inside a sentence, something the other telling
/// never mentions: "Awaria wodociągu na ul. Długiej" and "… na ul. Lea" over
/// one short body are two streets. A headline of a reposting site adds a
/// district or a name ("Stare Miasto: …") that only one side has.
fn headlines_name_apart(a: &ReadWords, b: &ReadWords) -> bool {
    let names_more = |x: &ReadWords, y: &ReadWords| {
        let mentioned: BTreeSet<&str> = y
            .title
            .iter()
            .chain(&y.body)
            .map(|w| w.folded.as_str())
            .collect();
        x.title.iter().any(|w| {
            w.kind == Kind::Name && !w.starts_sentence && !mentioned.contains(w.folded.as_str())
        })
    };
    names_more(a, b) && names_more(b, a)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    /// A capitalised word inside a sentence: a place, a person, an institution.
    Name,
    /// A number, a weekday or a month: what tells one instalment from the next.
    Fact,
}

#[derive(Debug, Clone)]
struct Word {
    folded: String,
    kind: Kind,
    starts_sentence: bool,
    ends_sentence: bool,
}

impl Word {
    fn is_detail(&self) -> bool {
        self.kind != Kind::Plain
    }
}

/// Whether a stretch of words is one or more whole sentences: a sign-off, a
/// dateline or a correction of one telling, not a detail changed in a sentence
/// both tell.
fn whole_sentences(gap: &[Word]) -> bool {
    gap.first().is_some_and(|w| w.starts_sentence) && gap.last().is_some_and(|w| w.ends_sentence)
}

/// The words of a text. A capitalised word is a name inside a sentence; at the
/// start of one only when the text never writes it in lower case.
fn words(text: &str) -> Vec<Word> {
    let mut read = Vec::new();
    let mut lower = BTreeSet::new();
    let mut sentence_start = true;
    for (raw, ends_sentence) in raw_words(text) {
        let folded = fold_word(raw);
        if folded.is_empty() {
            continue;
        }
        let capital = raw.chars().next().is_some_and(char::is_uppercase);
        if !capital {
            lower.insert(folded.clone());
        }
        read.push((raw, folded, capital, sentence_start, ends_sentence));
        sentence_start = ends_sentence;
    }
    read.into_iter()
        .map(|(raw, folded, capital, starts, ends)| {
            let (folded, kind) = match fact(raw) {
                Some(fact) => (fact, Kind::Fact),
                None if capital && !(starts && lower.contains(&folded)) => (folded, Kind::Name),
                None => (folded, Kind::Plain),
            };
            Word {
                folded,
                kind,
                starts_sentence: starts,
                ends_sentence: ends,
            }
        })
        .collect()
}

/// A word-by-word alignment of two texts (longest common subsequence).
struct Alignment {
    /// Pairs of positions (in a, in b) of the words both texts share, in order.
    pairs: Vec<(usize, usize)>,
    /// Where both texts start to agree after a rewritten lead, else (0, 0).
    lead: (usize, usize),
    len_a: usize,
    len_b: usize,
}

impl Alignment {
    fn of(a: &[Word], b: &[Word]) -> Alignment {
        let pairs = drop_lone_anchors(common_subsequence(a, b), a.len(), b.len());
        let lead = rewritten_lead(&pairs, a.len(), b.len());
        Alignment {
            pairs,
            lead,
            len_a: a.len(),
            len_b: b.len(),
        }
    }

    /// The share of the shorter text found in the longer one, the rewritten
    /// lead left out.
    fn shared(&self) -> f64 {
        let compared = (self.len_a - self.lead.0).min(self.len_b - self.lead.1);
        let matched = self
            .pairs
            .iter()
            .filter(|&&(i, _)| i >= self.lead.0)
            .count();
        if compared == 0 {
            return 0.0;
        }
        matched as f64 / compared as f64
    }

    /// True when, past the rewritten lead, a short stretch of one text replaces
    /// a short stretch of the other inside a sentence, and both stretches carry
    /// a number, a date or a name.
    fn substitutes_a_detail(&self, a: &[Word], b: &[Word]) -> bool {
        let ends = self.pairs.iter().copied().chain([(a.len(), b.len())]);
        let mut from = (0, 0);
        for (i, j) in ends {
            let (gap_a, gap_b) = (&a[from.0..i], &b[from.1..j]);
            let short = |gap: &[Word]| (1..=SHORT_SUBSTITUTION).contains(&gap.len());
            if i > self.lead.0
                && short(gap_a)
                && short(gap_b)
                && !(whole_sentences(gap_a) && whole_sentences(gap_b))
                && !compound_and_head(gap_a, gap_b)
                && gap_a.iter().any(Word::is_detail)
                && gap_b.iter().any(Word::is_detail)
            {
                return true;
            }
            from = (i + 1, j + 1);
        }
        false
    }
}

/// Whether one side is a single compound word and the other its last part:
/// German writes "die Straßenbahnlinie 11" and "die Linie 11" for one line.
fn compound_and_head(a: &[Word], b: &[Word]) -> bool {
    let ([a], [b]) = (a, b) else {
        return false;
    };
    let (long, short) = if a.folded.len() > b.folded.len() {
        (a, b)
    } else {
        (b, a)
    };
    short.kind == Kind::Name && short.folded.len() >= 4 && long.folded.ends_with(&short.folded)
}

fn common_subsequence(a: &[Word], b: &[Word]) -> Vec<(usize, usize)> {
    let width = b.len() + 1;
    // lengths[i * width + j]: the longest common subsequence of a[i..] and b[j..].
    let mut lengths = vec![0u16; (a.len() + 1) * width];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lengths[i * width + j] = if a[i].folded == b[j].folded {
                lengths[(i + 1) * width + j + 1] + 1
            } else {
                lengths[(i + 1) * width + j].max(lengths[i * width + j + 1])
            };
        }
    }
    let mut pairs = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].folded == b[j].folded {
            pairs.push((i, j));
            i += 1;
            j += 1;
        } else if lengths[(i + 1) * width + j] >= lengths[i * width + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

/// Where the texts settle into agreement, when both open with a passage of
/// their own that is longer than a changed detail and shorter than half the text.
/// Texts that open with the same word share their opening: what differs after
/// it is a changed detail ("Der Wertstoffhof Süd" and "Der Wertstoffhof Nord").
fn rewritten_lead(pairs: &[(usize, usize)], len_a: usize, len_b: usize) -> (usize, usize) {
    if pairs.first() == Some(&(0, 0)) {
        return (0, 0);
    }
    let settled = pairs.windows(LEAD_SETTLES).find(|run| {
        run.windows(2)
            .all(|w| w[1].0 == w[0].0 + 1 && w[1].1 == w[0].1 + 1)
    });
    let Some(&[(i, j), ..]) = settled else {
        return (0, 0);
    };
    let opening =
        |at: usize, len: usize| at > SHORT_SUBSTITUTION && at as f64 <= len as f64 * MAX_LEAD_SHARE;
    if opening(i, len_a) && opening(j, len_b) {
        (i, j)
    } else {
        (0, 0)
    }
}

/// Removes single shared words with differences on both sides: an "and" or a
/// "the" that happens to sit in two different sentences does not make them one.
fn drop_lone_anchors(
    pairs: Vec<(usize, usize)>,
    len_a: usize,
    len_b: usize,
) -> Vec<(usize, usize)> {
    let adjacent = |x: Option<&(usize, usize)>, y: (usize, usize)| {
        x.is_some_and(|&(i, j)| i.abs_diff(y.0) == 1 && j.abs_diff(y.1) == 1)
    };
    let mut kept = Vec::with_capacity(pairs.len());
    for (k, &p) in pairs.iter().enumerate() {
        let before = k.checked_sub(1).and_then(|k| pairs.get(k));
        let after = pairs.get(k + 1);
        let in_run = adjacent(before, p) || adjacent(after, p);
        let prev_end = before.map_or((0, 0), |&(i, j)| (i + 1, j + 1));
        let next_start = after.copied().unwrap_or((len_a, len_b));
        let gap_before = p.0 > prev_end.0 && p.1 > prev_end.1;
        let gap_after = next_start.0 > p.0 + 1 && next_start.1 > p.1 + 1;
        if in_run || !(gap_before && gap_after) {
            kept.push(p);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t<'a>(title: &'a str, text: &'a str) -> Telling<'a> {
        Telling { title, text }
    }

    const CLOSURE: &str = "W poniedziałek w godzinach od 22.00 do 5.00 most Dębnicki będzie \
        zamknięty dla ruchu samochodowego i tramwajowego. Drogowcy przeprowadzą badania nośności. \
        Tramwaje zostaną skierowane przez most Grunwaldzki.";

    #[test]
    fn another_weekday_is_another_announcement() {
        let thursday = CLOSURE.replace("poniedziałek", "czwartek");
        assert!(same_story(t("Most", CLOSURE), t("Most", &thursday)).is_none());
    }

    #[test]
    fn another_session_number_is_another_session() {
        let a = "Rozpocznie się XII sesja Rady Miasta Krakowa. W porządku obrad znalazł się budżet \
                 miasta oraz plan dla Zakrzówka.";
        let b = a.replace("XII", "XIII");
        assert!(same_story(t("Sesja", a), t("Sesja", &b)).is_none());
    }

    #[test]
    fn another_city_is_another_story() {
        let a = "Muzea w Krakowie otworzą swoje drzwi dla zwiedzających aż do późnych godzin nocnych, \
                 a wstęp do większości placówek będzie bezpłatny.";
        let b = a.replace("Krakowie", "Wrocławiu");
        assert!(same_story(t("Noc Muzeów", a), t("Noc Muzeów", &b)).is_none());
    }

    #[test]
    fn an_appended_correction_or_a_changed_word_is_the_same_story() {
        let corrected =
            format!("{CLOSURE} Aktualizacja, godz. 14.20: urząd potwierdził informacje.");
        assert!(same_story(t("Most", CLOSURE), t("Most", &corrected)).is_some());
        let reworded = CLOSURE.replace("przeprowadzą", "wykonają");
        assert!(same_story(t("Most", CLOSURE), t("Most", &reworded)).is_some());
    }

    #[test]
    fn different_sign_offs_are_the_same_story() {
        let read_more = format!("{CLOSURE} Czytaj więcej");
        let credited = format!("{CLOSURE} Źródło: UM Krakowa.");
        assert!(same_story(t("Most", &read_more), t("Most", &credited)).is_some());
        let last_day = |day: &str| format!("{CLOSURE} Objazd potrwa do {day}.");
        assert!(
            same_story(
                t("Most", &last_day("środy")),
                t("Most", &last_day("piątku"))
            )
            .is_none()
        );
    }

    /// Whether `text` with `{}` written as `a` and as `b` tells one story.
    fn alike(text: &str, a: &str, b: &str) -> bool {
        let (a, b) = (text.replace("{}", a), text.replace("{}", b));
        same_story(t("Komunikat", &a), t("Komunikat", &b)).is_some()
    }

    #[test]
    fn a_street_after_an_abbreviation_is_a_detail_of_its_sentence() {
        let outage = "W środę 12 marca od 9.00 do 15.00 nie będzie prądu przy ul. {}. \
            Energetycy wymieniają słupy linii niskiego napięcia.";
        let (a, b) = ("Balickiej i Zarzecze", "Armii Krajowej i Bronowickiej");
        assert!(!alike(outage, a, b));
    }

    #[test]
    fn texts_that_open_alike_have_no_rewritten_lead() {
        let yard = "Der Wertstoffhof {} bleibt an Christi Himmelfahrt geschlossen. Am Freitag \
            gelten die üblichen Öffnungszeiten.";
        let (a, b) = ("Süd in der Katzwanger Straße", "Nord in der Kilianstraße");
        assert!(!alike(yard, a, b));
    }

    #[test]
    fn a_compound_and_its_last_part_are_one_name() {
        let nights = "In den Nächten von Montag bis Donnerstag ersetzen Busse die {} 11 zwischen \
            Connewitz und Markkleeberg. Grund sind Schleifarbeiten.";
        assert!(alike(nights, "Linie", "Straßenbahnlinie"));
        assert!(!alike(nights, "Nordlinie", "Südlinie"));
    }

    #[test]
    fn a_short_body_under_another_headline_is_compared_alone() {
        let body = "Am Freitag entfällt die Haltestelle Maxfeld wegen eines Umzugs.";
        let repost = format!("{body} Bitte Rathenauplatz nutzen.");
        let first = t("Bus 36: Haltestelle Maxfeld entfällt", body);
        let headline = "Umzug in der Nordstadt: VAG-Bus fährt vorbei";
        assert!(same_story(first, t(headline, &repost)).is_some());
        // The street is named in the headlines only: two outages.
        let outage = "Trwa usuwanie awarii. Woda wróci około godz. 15.";
        let (a, b) = (
            "Awaria wodociągu na ul. Długiej",
            "Awaria wodociągu na ul. Lea",
        );
        assert!(same_story(t(a, outage), t(b, outage)).is_none());
        // A line that tells nothing of its own leaves the headlines to decide.
        let more = "Więcej informacji znajdziesz na stronie przewoźnika.";
        assert!(same_story(t("Awaria tramwaju", more), t("Wypadek samochodu", more)).is_none());
    }

    #[test]
    fn hostile_texts_do_not_panic() {
        let long = "słowo ".repeat(50_000);
        assert!(same_story(t("", &long), t("", &long)).is_some());
        assert!(same_story(t("", ""), t("", "")).is_none());
        assert!(same_story(t("…", "...!!!"), t("?", ":::")).is_none());
    }
}
