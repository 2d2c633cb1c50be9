//! What a webmaster could fix in a feed that hejnal reads anyway: shown on the
//! status page, so that a feed read only thanks to repairs gets repaired at
//! its source.

use memchr::memmem;
use serde::{Deserialize, Serialize};

use super::text;
use crate::model::ParsedFeed;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Warning {
    /// Bytes beyond ASCII that are not UTF-8, with no encoding named anywhere:
    /// hejnal had to guess.
    UndeclaredEncoding,
    /// Windows-1252 characters inside UTF-8 (stray bytes, C1 characters or
    /// `&#150;`-style references), read as what they were meant to be.
    #[serde(rename = "windows-1252-repaired")]
    Windows1252Repaired,
    /// Entries with neither a publication nor an update date: they are dated
    /// when hejnal first saw them.
    EntriesWithoutDates { count: usize, of: usize },
}

/// The warnings of one fetched body and what it parsed into.
pub fn warnings(body: &[u8], content_type: Option<&str>, feed: &ParsedFeed) -> Vec<Warning> {
    let mut out = Vec::new();
    let (declared, utf8) = text::declared_and_utf8(body, content_type);
    let non_ascii = !body.is_ascii();
    if non_ascii && !declared && !utf8 {
        out.push(Warning::UndeclaredEncoding);
    }
    let stray_bytes = non_ascii && !utf8 && (declared_utf8(body, content_type) || !declared);
    if stray_bytes || (utf8 && has_c1(body)) || has_c1_reference(body) {
        out.push(Warning::Windows1252Repaired);
    }
    let count = feed
        .entries
        .iter()
        .filter(|e| e.published.is_none() && e.updated.is_none())
        .count();
    if count > 0 {
        out.push(Warning::EntriesWithoutDates {
            count,
            of: feed.entries.len(),
        });
    }
    out
}

/// Whether the document says it is UTF-8, in its header or its prolog.
fn declared_utf8(body: &[u8], content_type: Option<&str>) -> bool {
    let says = |s: &[u8]| {
        let lower = s.to_ascii_lowercase();
        memmem::find(&lower, b"utf-8").is_some() || memmem::find(&lower, b"utf8").is_some()
    };
    content_type.is_some_and(|ct| says(ct.as_bytes())) || says(&body[..body.len().min(200)])
}

/// U+0080–U+009F in UTF-8: C1 controls no feed means.
fn has_c1(body: &[u8]) -> bool {
    body.windows(2)
        .any(|w| w[0] == 0xC2 && (0x80..=0x9F).contains(&w[1]))
}

/// `&#128;`–`&#159;` or `&#x80;`–`&#x9F;`.
fn has_c1_reference(body: &[u8]) -> bool {
    memmem::find_iter(body, b"&#").any(|at| {
        let rest = &body[at + 2..];
        let (digits, radix) = match rest.first() {
            Some(b'x' | b'X') => (&rest[1..], 16),
            _ => (rest, 10),
        };
        let end = digits.iter().position(|b| *b == b';').unwrap_or(0);
        std::str::from_utf8(&digits[..end.min(8)])
            .ok()
            .and_then(|d| u32::from_str_radix(d, radix).ok())
            .is_some_and(|code| (0x80..=0x9F).contains(&code))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EntryDraft;

    fn feed(dated: usize, undated: usize) -> ParsedFeed {
        let date = chrono::DateTime::from_timestamp(1_700_000_000, 0);
        let mut entries = vec![
            EntryDraft {
                published: date,
                ..EntryDraft::default()
            };
            dated
        ];
        entries.extend(vec![EntryDraft::default(); undated]);
        ParsedFeed {
            entries,
            ..ParsedFeed::default()
        }
    }

    #[test]
    fn a_clean_utf8_feed_has_no_warnings() {
        let body = "<?xml version=\"1.0\"?><rss><channel><title>Kraków</title></channel></rss>";
        assert!(warnings(body.as_bytes(), None, &feed(3, 0)).is_empty());
    }

    #[test]
    fn guessed_and_repaired_text_is_told() {
        let latin = b"<rss><channel><title>Caf\xe9</title></channel></rss>";
        assert_eq!(
            warnings(latin, Some("text/xml"), &feed(1, 0)),
            [Warning::UndeclaredEncoding, Warning::Windows1252Repaired]
        );
        let declared = b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><rss>Caf\xe9</rss>";
        assert!(warnings(declared, None, &feed(1, 0)).is_empty());
        let mixed = "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss>Kraków don&#146;t</rss>";
        assert_eq!(
            warnings(mixed.as_bytes(), None, &feed(1, 0)),
            [Warning::Windows1252Repaired]
        );
        assert_eq!(
            warnings(b"<rss/>", None, &feed(1, 2)),
            [Warning::EntriesWithoutDates { count: 2, of: 3 }]
        );
    }
}
