//! Text fingerprints for near-duplicate detection.
//!
//! A 64-bit SimHash over word 3-shingles of normalized text: two texts that
//! share most of their shingles get fingerprints a few bits apart, while
//! unrelated texts sit around 32 bits apart. A body long enough to name its
//! story is fingerprinted alone: a syndicated copy often carries a headline of
//! its own over the copied text, and that must not move the fingerprint.
//!
//! A shorter body is fingerprinted with its title, so a copy under a rewritten
//! headline lands far away, and an edited copy of a longer one may land a few
//! bits too far. Every body therefore also has keys that ignore the title: the
//! hashes of its first long sentences and, for a short body, the bands of a
//! MinHash sketch of its word pairs. Two bodies that share half their word
//! pairs share a band almost always; unrelated ones almost never.

use std::sync::LazyLock;

use unicode_normalization::char::{decompose_canonical, is_combining_mark};
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

/// Words per shingle; shorter texts fall back to single words.
const SHINGLE: usize = 3;
/// A body of at least this many words is fingerprinted without its title.
const BODY_ALONE_WORDS: usize = 25;

/// A body of fewer words than this is sketched: every body fingerprinted with
/// its title, and copies of one that grew by a sentence or two.
const SKETCHED_WORDS: usize = 2 * BODY_ALONE_WORDS;
/// A body of fewer words than this tells nothing its headline does not.
const MIN_SKETCHED_WORDS: usize = 6;
/// Bands of a sketch, and minimum hashes per band: two bodies whose word pairs
/// have a Jaccard similarity `s` share a band with probability
/// `1 - (1 - s^2)^16`: 0.99 at `s` = 0.5, 0.006 at 0.02.
const SKETCH_BANDS: usize = 16;
const SKETCH_ROWS: usize = 2;

/// "Read more" links that feeds append to summaries; they say nothing about the
/// story, and sources disagree on whether to include them. Written normalized.
const BOILERPLATE: &[&[&str]] = &[
    &["czytaj", "wiecej"],
    &["czytaj", "dalej"],
    &["zobacz", "wiecej"],
    &["wiecej"],
    &["read", "more"],
    &["continue", "reading"],
    &["weiterlesen"],
    &["mehr", "lesen"],
    &["lire", "la", "suite"],
    &["en", "savoir", "plus"],
];

/// Lengths (one bit each) and first bytes (one bit each) of the words that start
/// a boilerplate phrase: they reject almost every word without a comparison.
const BOILERPLATE_STARTS: (u64, u128) = {
    let mut lengths = 0u64;
    let mut firsts = 0u128;
    let mut i = 0;
    while i < BOILERPLATE.len() {
        let first = BOILERPLATE[i][0].as_bytes();
        lengths |= 1 << first.len();
        firsts |= 1 << first[0];
        i += 1;
    }
    (lengths, firsts)
};

/// The normalized words of a text, kept in one buffer to avoid an allocation per word.
/// The buffer holds bytes, not a `String`: pushing a byte skips the UTF-8
/// encoding of a char, and every word is hashed as bytes anyway. It only ever
/// receives ASCII and whole UTF-8 strings, so it is UTF-8 throughout.
struct Words {
    buf: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

/// Each ASCII letter or digit lower-cased, and 0 for every other byte: one
/// load tells both whether a byte belongs to a word and what it becomes.
const ALNUM_LOWER: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0u8;
    while b < 0x80 {
        if b.is_ascii_alphanumeric() {
            table[b as usize] = b.to_ascii_lowercase();
        }
        b += 1;
    }
    table
};

/// Bytes of text per word, about, to size the spans once.
const BYTES_PER_WORD: usize = 6;

impl Words {
    fn of(text: &str) -> Words {
        let mut words = Words {
            buf: Vec::with_capacity(text.len()),
            spans: Vec::with_capacity(text.len() / BYTES_PER_WORD),
        };
        words.fill(text);
        words.drop_boilerplate();
        words
    }

    fn word(&self, i: usize) -> &[u8] {
        let (start, end) = self.spans[i];
        &self.buf[start..end]
    }

    /// Walks bytes rather than chars: feed text is mostly ASCII, and only the
    /// rest needs decoding and Unicode tables. Pushing ASCII byte by byte measured
    /// cheaper than copying and lower-casing each run of them.
    fn fill(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let lower = ALNUM_LOWER[usize::from(b)];
            if lower != 0 {
                self.buf.push(lower);
                i += 1;
            } else if b == b'<' && bytes.get(i + 1).is_some_and(|&n| starts_markup(n)) {
                // Summaries may still carry markup; tag names are not words of the story.
                i = bytes[i..]
                    .iter()
                    .position(|&t| t == b'>')
                    .map_or(bytes.len(), |end| i + end + 1);
                self.end_word(&mut start);
            } else if b.is_ascii() {
                self.end_word(&mut start);
                i += 1;
            } else {
                let c = text[i..].chars().next().unwrap_or_default();
                if !fold(c, &mut self.buf) {
                    self.end_word(&mut start);
                }
                i += c.len_utf8();
            }
        }
        self.end_word(&mut start);
    }

    fn end_word(&mut self, start: &mut usize) {
        if self.buf.len() > *start {
            self.spans.push((*start, self.buf.len()));
            *start = self.buf.len();
        }
    }

    /// Compacts the spans in place: a phrase is only ever read at or after the
    /// word being kept, so nothing is read after it was overwritten.
    fn drop_boilerplate(&mut self) {
        let mut kept = 0;
        let mut i = 0;
        while i < self.spans.len() {
            match self.boilerplate_at(i) {
                Some(words) => i += words,
                None => {
                    self.spans[kept] = self.spans[i];
                    kept += 1;
                    i += 1;
                }
            }
        }
        self.spans.truncate(kept);
    }

    /// The number of words of the boilerplate phrase that starts at word `i`.
    fn boilerplate_at(&self, i: usize) -> Option<usize> {
        let word = self.word(i);
        let (lengths, firsts) = BOILERPLATE_STARTS;
        if word.len() >= 64
            || (lengths >> word.len()) & 1 == 0
            || (firsts >> (word[0] & 0x7f)) & 1 == 0
        {
            return None;
        }
        BOILERPLATE
            .iter()
            .find(|phrase| self.phrase_at(i, phrase))
            .map(|phrase| phrase.len())
    }

    fn phrase_at(&self, i: usize, phrase: &[&str]) -> bool {
        i + phrase.len() <= self.spans.len()
            && phrase
                .iter()
                .enumerate()
                .all(|(k, w)| self.word(i + k) == w.as_bytes())
    }

    fn len(&self) -> usize {
        self.spans.len()
    }

    /// The words separated by single spaces.
    fn joined(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.buf.len() + self.spans.len());
        for i in 0..self.spans.len() {
            if i > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(self.word(i));
        }
        out
    }

    fn hashes(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.spans.len()).map(|i| xxh3_64(self.word(i)))
    }
}

/// Whether `<` followed by `next` opens a tag, a comment or a declaration.
fn starts_markup(next: u8) -> bool {
    next.is_ascii_alphabetic() || matches!(next, b'/' | b'!' | b'?')
}

/// Characters outside ASCII that feed text is full of: Latin-1 and Latin
/// Extended-A letters (Polish, German, French, Czech ...), the no-break space,
/// and the dashes, quotes and ellipsis of general punctuation.
const FOLD_CACHED: [std::ops::Range<u32>; 2] = [0x80..0x180, 0x2000..0x2070];

/// [`fold_uncached`] of every character in `FOLD_CACHED`, computed once: the
/// Unicode tables cost a few hundred instructions per character, and it is the
/// same function, so cached and uncached folds cannot differ.
static FOLD_CACHE: LazyLock<Vec<(String, bool)>> = LazyLock::new(|| {
    FOLD_CACHED
        .iter()
        .flat_map(|range| range.clone())
        .map(|code| {
            let mut out = String::new();
            let joins = char::from_u32(code).is_some_and(|c| fold_uncached(c, &mut out));
            (out, joins)
        })
        .collect()
});

/// Where `c` sits in `FOLD_CACHE`, if it is cached.
fn fold_cache_index(c: char) -> Option<usize> {
    let code = u32::from(c);
    let mut offset = 0;
    for range in &FOLD_CACHED {
        if range.contains(&code) {
            return usize::try_from(code - range.start + offset).ok();
        }
        offset += range.end - range.start;
    }
    None
}

/// Appends the folded form of `c` to `out`, a buffer of UTF-8; false when `c`
/// separates words.
fn fold(c: char, out: &mut Vec<u8>) -> bool {
    match fold_cache_index(c).and_then(|i| FOLD_CACHE.get(i)) {
        Some((folded, joins)) => {
            out.extend_from_slice(folded.as_bytes());
            *joins
        }
        None => {
            let mut folded = String::new();
            let joins = fold_uncached(c, &mut folded);
            out.extend_from_slice(folded.as_bytes());
            joins
        }
    }
}

fn fold_uncached(c: char, out: &mut String) -> bool {
    if c.is_ascii() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
            return true;
        }
        return false;
    }
    // A combining mark typed on its own belongs to the letter before it.
    if is_combining_mark(c) {
        return true;
    }
    if let Some(plain) = fold_special(c) {
        out.push_str(plain);
        return true;
    }
    if !c.is_alphanumeric() {
        return false;
    }
    for lower in c.to_lowercase() {
        decompose_canonical(lower, |d| {
            if !is_combining_mark(d) {
                out.push(d);
            }
        });
    }
    true
}

/// Letters that have no canonical decomposition but are commonly typed without
/// their stroke or ligature.
fn fold_special(c: char) -> Option<&'static str> {
    Some(match c {
        'ł' | 'Ł' => "l",
        'ß' | 'ẞ' => "ss",
        'æ' | 'Æ' => "ae",
        'œ' | 'Œ' => "oe",
        'ø' | 'Ø' => "o",
        'đ' | 'Đ' | 'ð' | 'Ð' => "d",
        'þ' | 'Þ' => "th",
        'ı' => "i",
        _ => return None,
    })
}

/// Lower-case words without diacritics or punctuation, separated by single
/// spaces, with "read more" boilerplate removed.
pub fn normalize(text: &str) -> String {
    super::utf8_string(Words::of(text).joined())
}

/// The SimHash of a title and its text: of the text alone when it has at least
/// `BODY_ALONE_WORDS` words, else of both. 0 when neither has a single word.
pub fn simhash(title: &str, text: &str) -> u64 {
    let mut acc = BitVotes::default();
    let text_words = Words::of(text);
    if text_words.len() < BODY_ALONE_WORDS {
        Words::of(title).hashes().for_each(|h| acc.add(h));
    }
    if text_words.len() < SHINGLE {
        text_words.hashes().for_each(|h| acc.add(h));
    } else {
        // The last SHINGLE word hashes, oldest first.
        let mut window = [0u64; SHINGLE];
        for (n, h) in text_words.hashes().enumerate() {
            window.rotate_left(1);
            window[SHINGLE - 1] = h;
            if n + 1 >= SHINGLE {
                acc.add(shingle_hash(&window));
            }
        }
    }
    acc.fingerprint()
}

/// A body of this many words or more has no body keys: its fingerprint, of
/// the body alone, moves little when a copy adds a lead or a sentence, and
/// comparing long texts is what a proposal costs.
const KEYED_WORDS: usize = 4 * BODY_ALONE_WORDS;
/// A sentence of this many words or more is long enough to name its story.
const MIN_KEYED_SENTENCE_WORDS: usize = 8;
/// Sentences of a body it is found by: its first long ones.
const KEYED_SENTENCES: usize = 6;
/// Sentence keys are hashed apart from sketch keys, so the two never meet.
const SENTENCE_SEED: u64 = 0x5e47_e11c_e5ee_d001;

/// The keys a body is found by whatever its headline: the hashes of its first
/// long sentences, which a copy keeps even under a lead or a closing sentence
/// of its own, and, for a short body, the bands of its sketch, which a copy
/// with a few words added or dropped keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BodyKeys {
    pub keys: Vec<u64>,
    /// How many of them another body must share to be worth comparing: one
    /// band of a sketch, else two sentences, since news of one kind repeat
    /// a sentence now and then, while a copy keeps most of them.
    pub quorum: usize,
}

pub fn body_keys(text: &str) -> BodyKeys {
    // Runs of non-spaces are never more than words: enough of them end it
    // before any word is folded.
    if text.split_ascii_whitespace().nth(KEYED_WORDS).is_some() {
        return BodyKeys::default();
    }
    let sentences: Vec<Words> = sentences(text).map(Words::of).collect();
    let words: usize = sentences.iter().map(Words::len).sum();
    if words >= KEYED_WORDS {
        return BodyKeys::default();
    }
    let sketched = (MIN_SKETCHED_WORDS..SKETCHED_WORDS).contains(&words);
    let mut keys = if sketched {
        sketch(sentences.iter().flat_map(Words::hashes))
    } else {
        Vec::new()
    };
    keys.extend(
        sentences
            .iter()
            .filter(|s| s.len() >= MIN_KEYED_SENTENCE_WORDS)
            .take(KEYED_SENTENCES)
            .map(|s| xxh3_64_with_seed(&s.joined(), SENTENCE_SEED)),
    );
    // A sentence told twice is one key: it must not make a quorum alone.
    keys.sort_unstable();
    keys.dedup();
    let quorum = if sketched { 1 } else { keys.len().min(2) };
    BodyKeys { keys, quorum }
}

/// The sentences of a text: up to a point, question or exclamation mark that a
/// space or the end follows ("8.00" and "1,5" stay whole).
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut ends = bytes.iter().enumerate().filter_map(move |(i, &b)| {
        let closes =
            matches!(b, b'.' | b'!' | b'?') && bytes.get(i + 1).is_none_or(u8::is_ascii_whitespace);
        closes.then_some(i + 1)
    });
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= text.len() {
            return None;
        }
        let end = ends.next().unwrap_or(text.len());
        let sentence = &text[start..end];
        start = end;
        Some(sentence)
    })
}

/// The band keys of a MinHash sketch of these word hashes' pairs. Each key
/// hashes its band's number with its minimum hashes, so keys of two bands
/// never meet.
fn sketch(words: impl Iterator<Item = u64>) -> Vec<u64> {
    let mut minima = [u64::MAX; SKETCH_BANDS * SKETCH_ROWS];
    let mut previous = None;
    for word in words {
        if let Some(previous) = previous.replace(word) {
            let shingle = mix(previous ^ mix(word));
            for (k, min) in minima.iter_mut().enumerate() {
                // One cheap permutation per minimum hash: the shingle mixed with a seed of its own.
                let seed = (k as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                *min = (*min).min(mix(shingle ^ seed));
            }
        }
    }
    minima
        .chunks_exact(SKETCH_ROWS)
        .enumerate()
        .map(|(band, rows)| {
            let mut bytes = [0u8; 8 * (SKETCH_ROWS + 1)];
            for (chunk, v) in bytes
                .chunks_exact_mut(8)
                .zip(rows.iter().chain([&(band as u64)]))
            {
                chunk.copy_from_slice(&v.to_le_bytes());
            }
            xxh3_64(&bytes)
        })
        .collect()
}

/// The SplitMix64 finalizer: every input bit moves about half the output bits.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// One word lower-cased, without diacritics and without anything that is not a
/// letter or a digit; boilerplate is kept, since a single word is no phrase.
pub fn fold_word(word: &str) -> String {
    let mut out = Vec::with_capacity(word.len());
    for c in word.chars() {
        fold(c, &mut out);
    }
    super::utf8_string(out)
}

fn shingle_hash(words: &[u64]) -> u64 {
    let mut bytes = [0u8; 8 * SHINGLE];
    for (chunk, h) in bytes.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&h.to_le_bytes());
    }
    xxh3_64(&bytes)
}

/// Per bit, how many hashes set it: a bit of the fingerprint is set when more
/// hashes set it than leave it clear. The 64 counts are kept bit-sliced (plane
/// `j` holds bit `j` of every count), so adding a hash is a carry rippling
/// through a few words rather than 64 additions.
#[derive(Default)]
struct BitVotes {
    planes: [u64; 32],
    hashes: u32,
}

impl BitVotes {
    fn add(&mut self, hash: u64) {
        let mut carry = hash;
        for plane in &mut self.planes {
            if carry == 0 {
                break;
            }
            let sum = *plane ^ carry;
            carry &= *plane;
            *plane = sum;
        }
        self.hashes += 1;
    }

    /// A bit is set where its count exceeds half the hashes (2 × count > hashes);
    /// the 64 counts are compared with that half at once, highest plane first.
    /// 0 when no hash was added.
    fn fingerprint(&self) -> u64 {
        let half = self.hashes / 2;
        let (mut above, mut equal) = (0u64, u64::MAX);
        for (j, plane) in self.planes.iter().enumerate().rev() {
            if (half >> j) & 1 == 1 {
                equal &= plane;
            } else {
                above |= equal & plane;
                equal &= !plane;
            }
        }
        above
    }
}

/// How many bits two fingerprints differ in.
pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_polish_german_and_french() {
        assert_eq!(
            normalize("Zażółć GĘŚLĄ jaźń — Straße, Éléphant!"),
            "zazolc gesla jazn strasse elephant"
        );
    }

    #[test]
    fn drops_read_more_and_markup() {
        assert_eq!(
            normalize("<p>Nowy most na <b>Wiśle</b>.</p> Czytaj więcej »"),
            "nowy most na wisle"
        );
        assert_eq!(normalize("Lire la suite"), "");
    }

    #[test]
    fn combining_marks_typed_separately_join_their_letter() {
        assert_eq!(normalize("Krako\u{301}w"), "krakow");
    }

    #[test]
    fn a_long_body_is_fingerprinted_without_its_headline() {
        let body = "Od poniedziałku tramwaje linii 4, 8 i 13 pojadą objazdem, ponieważ miasto \
            rozpoczyna remont torowiska na ulicy Krakowskiej. Prace potrwają do końca sierpnia i \
            obejmą wymianę szyn oraz podkładów.";
        assert_eq!(
            simhash("Remont torowiska", body),
            simhash("Tramwaje pojadą objazdem. Zaczyna się wymiana szyn", body)
        );
        assert_ne!(
            simhash("Remont", "krótki tekst"),
            simhash("Objazd", "krótki tekst")
        );
    }

    #[test]
    fn a_short_body_with_words_added_shares_a_sketch_band() {
        let body = "W sobotę tramwaje linii 52 pojadą objazdem przez ul. Starowiślną. Powodem \
            są prace torowe na ul. Dietla.";
        let repost = format!("ZTP informuje: {body} Objazd potrwa cały dzień.");
        let (a, b) = (body_keys(body).keys, body_keys(&repost).keys);
        assert!(a.iter().any(|key| b.contains(key)));
        let other = body_keys(
            "Muzeum Narodowe otwiera w sobotę wystawę malarstwa Młodej Polski. Bilety \
             kupisz w kasach i przez internet.",
        )
        .keys;
        assert!(a.iter().all(|key| !other.contains(key)));
    }

    #[test]
    fn a_long_body_keeps_its_sentences_under_a_lead_of_its_own() {
        let body = "Prace potrwają do końca sierpnia i obejmą wymianę szyn oraz podkładów. \
            Zarząd Transportu Publicznego uruchomi autobusy zastępcze kursujące co dziesięć \
            minut. Kierowcy muszą liczyć się z utrudnieniami, a piesi z przejściami \
            tymczasowymi przez cały czas trwania remontu. "
            .repeat(2);
        let copy = format!("(PAP) Mieszkańców Kazimierza czeka lato utrudnień. {body}");
        let (a, b) = (body_keys(&body), body_keys(&copy));
        // Three sentences, told twice: three keys.
        assert_eq!((a.keys.len(), a.quorum), (3, 2));
        let shared = a.keys.iter().filter(|key| b.keys.contains(key)).count();
        assert!(shared >= a.quorum);
    }

    #[test]
    fn bodies_of_a_hundred_words_or_more_have_no_keys() {
        let sentence = "Prace potrwają do końca sierpnia i obejmą wymianę szyn. ";
        assert_eq!(body_keys(&sentence.repeat(11)).keys.len(), 1);
        assert_eq!(body_keys(&sentence.repeat(12)), BodyKeys::default());
    }

    #[test]
    fn only_bodies_of_a_few_words_or_more_have_keys() {
        assert_eq!(body_keys("Szczegóły wkrótce."), BodyKeys::default());
        // One sentence without a point: its key, and a sketch while it is short.
        let long = body_keys(&"słowo ".repeat(SKETCHED_WORDS));
        assert_eq!((long.keys.len(), long.quorum), (1, 1));
        let short = body_keys(&"słowo ".repeat(SKETCHED_WORDS - 1));
        assert_eq!((short.keys.len(), short.quorum), (SKETCH_BANDS + 1, 1));
    }

    #[test]
    fn folding_a_word_keeps_only_letters_and_digits() {
        assert_eq!(fold_word("Więcej!"), "wiecej");
        assert_eq!(fold_word("Łódź-2"), "lodz2");
    }

    #[test]
    fn empty_text_has_no_fingerprint() {
        assert_eq!(simhash("", " ... "), 0);
        assert_ne!(simhash("Hejnał", ""), 0);
    }

    #[test]
    fn unclosed_tag_does_not_panic() {
        assert_eq!(normalize("a <b"), "a");
        assert_eq!(normalize("1 < 2"), "1 2");
    }

    /// Fingerprints are stored and compared with the ones computed later: these
    /// values were computed before the counting and folding were made faster.
    #[test]
    fn fingerprints_stay_what_databases_hold() {
        let body = "Od poniedziałku tramwaje linii 4, 8 i 13 pojadą objazdem, ponieważ miasto \
            rozpoczyna remont torowiska na ulicy Krakowskiej. Prace potrwają do końca sierpnia i \
            obejmą wymianę szyn oraz podkładów.";
        assert_eq!(simhash("Remont torowiska", body), 0xe4b1_ded0_7721_328c);
        assert_eq!(
            simhash("Remont", "krótki tekst. Czytaj więcej"),
            0x9096_944a_8bf3_705d
        );
        assert_eq!(
            simhash("Straße über Łódź", "Æther — «œuvre» Ærø"),
            0x2242_2002_0404_5d00
        );
    }

    #[test]
    fn bit_sliced_votes_count_like_one_counter_per_bit() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for hashes in [0usize, 1, 2, 3, 4, 7, 64, 255, 256, 1000] {
            let mut votes = BitVotes::default();
            let mut ones = [0u64; 64];
            for n in 0..hashes {
                state = state.rotate_left(17).wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ n as u64;
                // Every fourth hash repeats a bit pattern, so counts land on exact halves.
                let hash = if n % 4 == 3 {
                    0xffff_0000_ffff_0000
                } else {
                    state
                };
                votes.add(hash);
                for (bit, count) in ones.iter_mut().enumerate() {
                    *count += hash >> bit & 1;
                }
            }
            let expected = (0..64)
                .filter(|&bit| 2 * ones[bit] > hashes as u64)
                .fold(0u64, |bits, bit| bits | (1 << bit));
            assert_eq!(votes.fingerprint(), expected, "{hashes} hashes");
        }
    }

    #[test]
    fn cached_folds_are_the_unicode_folds() {
        for code in FOLD_CACHED.iter().flat_map(|range| range.clone()) {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let (mut cached, mut computed) = (Vec::new(), String::new());
            assert_eq!(
                fold(c, &mut cached),
                fold_uncached(c, &mut computed),
                "{c:?}"
            );
            assert_eq!(cached, computed.as_bytes(), "{c:?}");
        }
        assert_eq!(fold_cache_index('\u{7f}'), None);
        assert_eq!(fold_cache_index('\u{2070}'), None);
    }

    #[test]
    fn boilerplate_is_found_after_words_that_look_like_it() {
        assert_eq!(
            normalize("czytaj czytaj więcej, read reading more read more"),
            "czytaj read reading more"
        );
    }
}
