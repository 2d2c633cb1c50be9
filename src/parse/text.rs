//! Turning the fetched bytes into clean UTF-8 text the feed parser can trust,
//! and a cheap look at what kind of document it is.

mod charset;
mod codepages;

use std::borrow::Cow;

use memchr::{memchr, memmem};

/// Deeper than this is no feed but an attack on the parser's stack.
pub const MAX_DEPTH: usize = 256;

/// Decodes `body` to UTF-8 (see [`charset`] for how the encoding is chosen).
/// Undecodable bytes become U+FFFD instead of failing the whole feed, and
/// Windows-1252 that slipped into UTF-8 is read as such. The prolog is rewritten
/// to say UTF-8, and characters XML forbids (C0 controls) are dropped, because
/// publishers paste them from word processors and strict parsers then reject
/// every item.
pub fn to_utf8(body: &[u8], content_type: Option<&str>) -> String {
    let text = charset::decode(body, content_type);
    let text = charset::repair_c1_chars(text);
    let text = charset::repair_c1_references(text);
    let text = strip_forbidden_controls(text);
    rewrite_prolog(text.trim_start())
}

/// Whether the body names its encoding, and whether it is valid UTF-8.
pub fn declared_and_utf8(body: &[u8], content_type: Option<&str>) -> (bool, bool) {
    charset::declared_and_utf8(body, content_type)
}

/// C0 controls other than tab and line breaks are not allowed in XML. In UTF-8
/// they only ever appear as single bytes, so bytes are checked, not chars: a
/// byte loop is several times faster over a whole feed.
fn is_forbidden_control(b: u8) -> bool {
    // `&`, not `&&`: without branches the chunked scan below is vectorized.
    (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r')
}

/// Bytes looked at together by [`has_forbidden_control`]: a whole chunk is
/// folded without an early exit, which the compiler turns into vector code.
const CONTROL_SCAN_CHUNK: usize = 64;

fn has_forbidden_control(bytes: &[u8]) -> bool {
    bytes.chunks(CONTROL_SCAN_CHUNK).any(|chunk| {
        chunk
            .iter()
            .fold(false, |seen, &b| seen | is_forbidden_control(b))
    })
}

fn strip_forbidden_controls(text: Cow<'_, str>) -> Cow<'_, str> {
    if has_forbidden_control(text.as_bytes()) {
        Cow::Owned(
            text.chars()
                .filter(|c| !c.is_ascii() || !is_forbidden_control(*c as u8))
                .collect(),
        )
    } else {
        text
    }
}

/// The text is UTF-8 now, so a prolog naming another encoding would make the
/// parser decode it a second time.
fn rewrite_prolog(text: &str) -> String {
    if let Some(rest) = text.strip_prefix("<?xml")
        && let Some(end) = rest.find("?>")
        && rest[..end].contains("encoding")
    {
        return format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>{}",
            &rest[end + 2..]
        );
    }
    text.to_string()
}

/// What the document looks like before anyone parses it.
#[derive(Debug, PartialEq, Eq)]
pub enum Shape {
    Json,
    /// An XML (or HTML) document whose first element has this name.
    Markup {
        root: String,
    },
    Unknown,
}

pub fn shape(text: &str) -> Shape {
    let text = text.trim_start();
    if text.starts_with('{') {
        return Shape::Json;
    }
    match root_element(text) {
        Some(root) => Shape::Markup { root },
        None => Shape::Unknown,
    }
}

/// The name of the first element, skipping the prolog, comments and doctype.
fn root_element(text: &str) -> Option<String> {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = &after[after.find("-->")? + 3..];
        } else if rest.starts_with("<?") {
            rest = &rest[rest.find("?>")? + 2..];
        } else if rest.starts_with("<!") {
            rest = &rest[declaration_end(rest)?..];
        } else if let Some(after) = rest.strip_prefix('<') {
            let name: String = after
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, '>' | '/'))
                .collect();
            return (!name.is_empty()).then_some(name);
        } else {
            return None;
        }
    }
}

/// End of a `<!DOCTYPE …>`, which may hold an internal subset in brackets.
fn declaration_end(text: &str) -> Option<usize> {
    let mut in_subset = false;
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'[' => in_subset = true,
            b']' => in_subset = false,
            b'>' if !in_subset => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// Local name of an element, without its namespace prefix.
pub fn local_name(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// How deep elements nest, counted cheaply and stopping once past `limit`. Comments,
/// CDATA, declarations and quoted attribute values are skipped so that a `<` in them
/// does not count.
pub fn nesting_exceeds(text: &str, limit: usize) -> bool {
    let bytes = text.as_bytes();
    let mut depth: usize = 0;
    let mut i = 0;
    while let Some(offset) = memchr(b'<', &bytes[i..]) {
        i += offset;
        let rest = &bytes[i..];
        let skip_to = if rest.starts_with(b"<!--") {
            find(rest, b"-->")
        } else if rest.starts_with(b"<![CDATA[") {
            find(rest, b"]]>")
        } else if rest.starts_with(b"<!") || rest.starts_with(b"<?") {
            memchr(b'>', rest)
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            memchr(b'>', rest)
        } else {
            let end = tag_end(rest);
            if end.is_some_and(|e| e > 0 && rest[e - 1] != b'/') {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            end
        };
        match skip_to {
            Some(end) => i += end + 1,
            None => return false,
        }
    }
    false
}

/// Whether an XML declaration (`<?xml …?>`) follows the start of the document,
/// outside comments and CDATA: two documents glued together. XML forbids it, and
/// the XML reader panics on one that names another encoding.
pub fn has_late_declaration(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(offset) = memchr(b'<', &bytes[i..]) {
        i += offset;
        let rest = &bytes[i..];
        if i > 0 && is_declaration(rest) {
            return true;
        }
        let skip_to = if rest.starts_with(b"<!--") {
            find(rest, b"-->")
        } else if rest.starts_with(b"<![CDATA[") {
            find(rest, b"]]>")
        } else {
            Some(0)
        };
        match skip_to {
            Some(end) => i += end + 1,
            None => return false,
        }
    }
    false
}

fn is_declaration(markup: &[u8]) -> bool {
    markup.len() > 5
        && markup[..5].eq_ignore_ascii_case(b"<?xml")
        && (markup[5].is_ascii_whitespace() || markup[5] == b'?')
}

/// Index of the `>` closing a start tag, ignoring `>` inside quoted values.
fn tag_end(tag: &[u8]) -> Option<usize> {
    let mut quote = None;
    for (i, &b) in tag.iter().enumerate() {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if q == b => quote = None,
            (None, b'>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// Index of the last byte of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memmem::find(haystack, needle).map(|p| p + needle.len() - 1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_control_character_is_found_wherever_a_chunk_of_the_scan_ends() {
        use super::has_forbidden_control as found;
        let text = "Kraków – Nürnberg\t\r\n".repeat(20);
        assert!(!found(text.as_bytes()));
        for at in [0, 63, 64, 127, 200, text.len() - 1] {
            let mut bytes = text.clone().into_bytes();
            bytes[at] = 0x0b;
            assert!(found(&bytes), "a control at byte {at}");
        }
        assert!(found(b"\x1f"));
        assert!(!found(b""));
    }

    #[test]
    fn a_second_declaration_is_found_outside_comments_and_cdata() {
        use super::has_late_declaration as late;
        assert!(late(
            "<?xml version=\"1.0\"?><rss><?xml version=\"1.0\"?></rss>"
        ));
        assert!(late(
            "<rss><item><title>a<?XML encoding='x'?></title></item></rss>"
        ));
        assert!(!late("<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss/>"));
        assert!(!late(
            "<?xml version=\"1.0\"?><?xml-stylesheet href=\"a.xsl\"?><rss/>"
        ));
        assert!(!late(
            "<rss><![CDATA[<?xml version=\"1.0\"?>]]><!-- <?xml ?> --></rss>"
        ));
        assert!(!late(""));
        assert!(!late("<rss><![CDATA[unclosed <?xml "));
    }

    use super::*;

    #[test]
    fn prolog_encoding_is_honoured_and_rewritten() {
        let mut body = b"\n  <?xml version='1.0' encoding='ISO-8859-2'?><t>".to_vec();
        body.extend_from_slice(&[0xA3, 0xF3, 0xB3, 0xBC]); // Łółź in ISO-8859-2
        body.extend_from_slice(b"</t>");
        assert_eq!(
            to_utf8(&body, Some("text/xml; charset=utf-8")),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><t>Łółź</t>"
        );
    }

    #[test]
    fn header_charset_is_used_without_prolog_encoding() {
        let body = [b'<', b't', b'>', 0xB9, b'<', b'/', b't', b'>'];
        assert_eq!(
            to_utf8(&body, Some("application/rss+xml; charset=\"windows-1250\"")),
            "<t>ą</t>"
        );
    }

    #[test]
    fn bom_wins_and_controls_go() {
        let mut body = vec![0xEF, 0xBB, 0xBF];
        body.extend_from_slice(b"<t>a\x01b\x0bc\td</t>");
        assert_eq!(to_utf8(&body, None), "<t>abc\td</t>");
    }

    #[test]
    fn shapes() {
        assert_eq!(shape(" {\"version\":1}"), Shape::Json);
        assert_eq!(
            shape("<?xml?><!-- c --><!DOCTYPE x [<!ENTITY a 'b>'>]><rdf:RDF>"),
            Shape::Markup {
                root: "rdf:RDF".into()
            }
        );
        assert_eq!(shape("hello"), Shape::Unknown);
    }

    #[test]
    fn nesting_is_counted() {
        assert!(!nesting_exceeds(
            "<a><b/><c x='>'><!-- <d><d><d> --></c></a>",
            2
        ));
        assert!(nesting_exceeds("<a><b><c>", 2));
        assert!(!nesting_exceeds(&"<a></a>".repeat(1000), 2));
    }
}
