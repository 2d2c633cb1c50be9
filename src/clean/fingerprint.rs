//! Text fingerprints for near-duplicate detection.
//!
//! A 64-bit SimHash over word 3-shingles of normalized text: two texts that
//! share most of their shingles get fingerprints a few bits apart, while
//! unrelated texts sit around 32 bits apart. A body long enough to name its
//! story is fingerprinted alone: a syndicated copy often carries a headline of
//! its own over the copied text, and that must not move the fingerprint.

use unicode_normalization::char::{decompose_canonical, is_combining_mark};
use xxhash_rust::xxh3::xxh3_64;

/// Words per shingle; shorter texts fall back to single words.
const SHINGLE: usize = 3;
/// A body of at least this many words is fingerprinted without its title.
const BODY_ALONE_WORDS: usize = 25;

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

/// The normalized words of a text, kept in one buffer to avoid an allocation per word.
#[derive(Default)]
struct Words {
    buf: String,
    spans: Vec<(usize, usize)>,
}

impl Words {
    fn of(text: &str) -> Words {
        let mut words = Words::default();
        words.buf.reserve(text.len());
        words.fill(text);
        words.drop_boilerplate();
        words
    }

    fn word(&self, i: usize) -> &str {
        let (start, end) = self.spans[i];
        &self.buf[start..end]
    }

    /// Walks bytes rather than chars: feed text is mostly ASCII, and only the
    /// rest needs decoding and Unicode tables.
    fn fill(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii_alphanumeric() {
                let run = bytes[i..]
                    .iter()
                    .position(|b| !b.is_ascii_alphanumeric())
                    .map_or(bytes.len(), |n| i + n);
                let from = self.buf.len();
                self.buf.push_str(&text[i..run]);
                self.buf[from..].make_ascii_lowercase();
                i = run;
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

    fn drop_boilerplate(&mut self) {
        let mut kept = Vec::with_capacity(self.spans.len());
        let mut i = 0;
        while i < self.spans.len() {
            match BOILERPLATE.iter().find(|phrase| self.phrase_at(i, phrase)) {
                Some(phrase) => i += phrase.len(),
                None => {
                    kept.push(self.spans[i]);
                    i += 1;
                }
            }
        }
        self.spans = kept;
    }

    fn phrase_at(&self, i: usize, phrase: &[&str]) -> bool {
        i + phrase.len() <= self.spans.len()
            && phrase
                .iter()
                .enumerate()
                .all(|(k, w)| self.is_word(i + k, w))
    }

    /// Compares lengths first: almost no word is boilerplate, and that rejects it
    /// without looking at a letter.
    fn is_word(&self, i: usize, word: &str) -> bool {
        let (start, end) = self.spans[i];
        end - start == word.len() && self.word(i) == word
    }

    fn hashes(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.spans.len()).map(|i| xxh3_64(self.word(i).as_bytes()))
    }
}

/// Whether `<` followed by `next` opens a tag, a comment or a declaration.
fn starts_markup(next: u8) -> bool {
    next.is_ascii_alphabetic() || matches!(next, b'/' | b'!' | b'?')
}

/// Appends the folded form of `c` to `out`; false when `c` separates words.
fn fold(c: char, out: &mut String) -> bool {
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
    let words = Words::of(text);
    let mut out = String::with_capacity(words.buf.len() + words.spans.len());
    for i in 0..words.spans.len() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(words.word(i));
    }
    out
}

/// The SimHash of a title and its text: of the text alone when it has at least
/// `BODY_ALONE_WORDS` words, else of both. 0 when neither has a single word.
pub fn simhash(title: &str, text: &str) -> u64 {
    let mut acc = BitVotes::new();
    let text_words: Vec<u64> = Words::of(text).hashes().collect();
    if text_words.len() < BODY_ALONE_WORDS {
        Words::of(title).hashes().for_each(|h| acc.add(h));
    }
    if text_words.len() < SHINGLE {
        text_words.iter().for_each(|&h| acc.add(h));
    } else {
        text_words
            .windows(SHINGLE)
            .for_each(|w| acc.add(shingle_hash(w)));
    }
    acc.fingerprint()
}

/// One word lower-cased, without diacritics and without anything that is not a
/// letter or a digit; boilerplate is kept, since a single word is no phrase.
pub fn fold_word(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        fold(c, &mut out);
    }
    out
}

fn shingle_hash(words: &[u64]) -> u64 {
    let mut bytes = [0u8; 8 * SHINGLE];
    for (chunk, h) in bytes.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&h.to_le_bytes());
    }
    xxh3_64(&bytes)
}

/// Per bit, how many hashes set it: a bit of the fingerprint is set when more
/// hashes set it than leave it clear. Counting ones (rather than adding and
/// subtracting a vote) has no branch, so the compiler vectorizes it.
struct BitVotes {
    ones: [u32; 64],
    hashes: u32,
}

impl BitVotes {
    fn new() -> BitVotes {
        BitVotes {
            ones: [0; 64],
            hashes: 0,
        }
    }

    fn add(&mut self, hash: u64) {
        for (i, slot) in self.ones.iter_mut().enumerate() {
            *slot += (hash >> i & 1) as u32;
        }
        self.hashes += 1;
    }

    /// 0 when no hash was added.
    fn fingerprint(&self) -> u64 {
        self.ones
            .iter()
            .enumerate()
            .filter(|(_, ones)| 2 * **ones > self.hashes)
            .fold(0u64, |bits, (i, _)| bits | (1 << i))
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
}
