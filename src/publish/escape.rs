//! Writing text safely into the published files: XML escaping and the
//! characters XML cannot carry, and JSON string escaping. Every other part of
//! publishing writes text through these, and they read nothing of it.

/// Drops the characters XML 1.0 cannot carry (NUL, other C0 controls,
/// U+FFFE/U+FFFF): one of them in a source title would make every reader
/// reject the whole feed.
pub(crate) fn xml_safe(text: &str) -> String {
    if !may_be_unsafe(text) {
        return text.to_string();
    }
    text.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
        })
        .collect()
}

/// A story's title as every format writes it: XML-safe, and with the angle
/// brackets of anything that reads as a tag (`<b`, `</`, `<!`, `<?`) turned
/// into the quotation marks ‹ and ›. Many readers take an RSS title for HTML
/// and others for text; a title must show the same words in both, and never
/// become markup in the first.
pub(crate) fn title_safe(text: &str) -> String {
    let text = xml_safe(text);
    let opens_tag = text.as_bytes().windows(2).any(|pair| {
        pair[0] == b'<' && (pair[1].is_ascii_alphabetic() || matches!(pair[1], b'/' | b'!' | b'?'))
    });
    if !opens_tag {
        return text;
    }
    text.replace('<', "\u{2039}").replace('>', "\u{203A}")
}

/// Whether `text` may hold a character XML cannot carry: a C0 control other
/// than tab and line breaks, or U+FFFE/U+FFFF, whose UTF-8 starts with 0xEF.
/// Nearly every text is safe, and checking bytes costs a fraction of
/// rebuilding the text a character at a time.
fn may_be_unsafe(text: &str) -> bool {
    text.bytes()
        .any(|b| b == 0xEF || (b < b' ' && !matches!(b, b'\t' | b'\n' | b'\r')))
}

/// `<name>text</name>`, the text escaped.
pub(crate) fn xml_element(xml: &mut String, name: &str, text: &str) {
    xml.push('<');
    xml.push_str(name);
    xml.push('>');
    escape_xml_into(xml, text);
    xml.push_str("</");
    xml.push_str(name);
    xml.push('>');
}

/// An empty link element (`name` is "link" or "atom:link").
pub(crate) fn xml_link(
    xml: &mut String,
    name: &str,
    href: &str,
    rel: &str,
    mime_type: Option<&str>,
) {
    xml.push('<');
    xml.push_str(name);
    xml.push_str(" href=\"");
    escape_xml_into(xml, href);
    xml.push_str("\" rel=\"");
    escape_xml_into(xml, rel);
    if let Some(mime_type) = mime_type {
        xml.push_str("\" type=\"");
        escape_xml_into(xml, mime_type);
    }
    xml.push_str("\"/>");
}

/// Appends `text` escaped for XML content and double-quoted attributes, with
/// the entities the rss and atom_syndication crates' writers use, so the bytes stay the same.
pub(crate) fn escape_xml_into(xml: &mut String, text: &str) {
    escape_with(xml, text, |entity| entity);
}

/// `<name>text</name>` for an RSS element that holds plain text (a title, a
/// source's name): `<` and `&` as hexadecimal references, which the RSS
/// Profile reserves for text, so that readers who guess whether an RSS
/// field is HTML guess "text".
pub(crate) fn rss_text_element(xml: &mut String, name: &str, text: &str) {
    xml.push('<');
    xml.push_str(name);
    xml.push('>');
    escape_rss_text_into(xml, text);
    xml.push_str("</");
    xml.push_str(name);
    xml.push('>');
}

/// Appends `text` escaped as `rss_text_element` writes it.
pub(crate) fn escape_rss_text_into(xml: &mut String, text: &str) {
    escape_with(xml, text, |entity| match entity {
        "&lt;" => "&#x3C;",
        "&amp;" => "&#x26;",
        other => other,
    });
}

fn escape_with(xml: &mut String, text: &str, spell: fn(&'static str) -> &'static str) {
    let mut clean = 0;
    while let Some((at, entity)) = next_xml_escape(text.as_bytes(), clean) {
        xml.push_str(&text[clean..at]);
        xml.push_str(spell(entity));
        clean = at + 1;
    }
    xml.push_str(&text[clean..]);
}

fn xml_entity(byte: u8) -> Option<&'static str> {
    match byte {
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        b'&' => Some("&amp;"),
        b'\'' => Some("&apos;"),
        b'"' => Some("&quot;"),
        _ => None,
    }
}

/// The first byte from `from` on that XML must escape, and its entity. The
/// feeds escape some fifteen thousand titles, names, links and dates a render,
/// nearly all with nothing to escape, so eight bytes are tested at a time: a
/// lane equal to one of the five bytes gets its high bit set (a borrow may
/// flag lanes after a true one too, never a lane alone, so the byte-wise scan
/// of a flagged word finds the true one).
fn next_xml_escape(bytes: &[u8], from: usize) -> Option<(usize, &'static str)> {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let equal = |x: u64, b: u8| {
        let y = x ^ (ONES * u64::from(b));
        y.wrapping_sub(ONES) & !y & HIGH
    };
    let mut at = from;
    while let Some(word) = bytes.get(at..at + 8) {
        let mut lanes = [0; 8];
        lanes.copy_from_slice(word);
        let x = u64::from_ne_bytes(lanes);
        if equal(x, b'<') | equal(x, b'>') | equal(x, b'&') | equal(x, b'\'') | equal(x, b'"') != 0
        {
            break;
        }
        at += 8;
    }
    let rest = bytes.get(at..)?;
    rest.iter()
        .enumerate()
        .find_map(|(i, &b)| xml_entity(b).map(|entity| (at + i, entity)))
}

/// Appends `text` escaped as the contents of a JSON string, as serde_json
/// escapes it: quotes, backslashes and control characters only.
pub(crate) fn escape_json_into(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    let mut clean = 0;
    while let Some(at) = next_json_escape(bytes, clean) {
        out.push_str(&text[clean..at]);
        let byte = bytes[at];
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(byte >> 4)]));
                out.push(char::from(HEX[usize::from(byte & 0xf)]));
            }
        }
        clean = at + 1;
    }
    out.push_str(&text[clean..]);
}

/// The first byte from `from` on that JSON must escape. Most text needs
/// none, so eight bytes are tested at a time: a byte below 0x20, or one
/// equal to '"' or '\\', sets the high bit of its lane (the borrow may also
/// flag lanes after a true one, never a lane alone, so the byte-wise scan of
/// a flagged word finds the true one).
fn next_json_escape(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    let equal = |x: u64, b: u64| below(x ^ (ONES * b), 1);
    let mut at = from;
    while let Some(word) = bytes.get(at..at + 8) {
        let mut lanes = [0; 8];
        lanes.copy_from_slice(word);
        let x = u64::from_ne_bytes(lanes);
        if below(x, 0x20) | equal(x, u64::from(b'"')) | equal(x, u64::from(b'\\')) != 0 {
            break;
        }
        at += 8;
    }
    let needs = |b: &u8| *b < 0x20 || *b == b'"' || *b == b'\\';
    bytes.get(at..)?.iter().position(needs).map(|i| at + i)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `text` escaped as the contents of a JSON string.
pub(crate) fn escape_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    escape_json_into(&mut out, text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The escaping one byte at a time that the word-wise scan must match.
    fn escaped_bytewise(text: &str) -> String {
        text.chars()
            .map(|c| match u8::try_from(c).ok().and_then(xml_entity) {
                Some(entity) => entity.to_string(),
                None => c.to_string(),
            })
            .collect()
    }

    #[test]
    fn rss_text_spells_its_markup_characters_as_hexadecimal_references() {
        let mut xml = String::new();
        rss_text_element(&mut xml, "source", "Tom & Jerry <News> \"x\"");
        assert_eq!(
            xml,
            "<source>Tom &#x26; Jerry &#x3C;News&gt; &quot;x&quot;</source>"
        );
    }

    #[test]
    fn a_title_never_reads_as_markup() {
        assert_eq!(
            title_safe("Alert: <script>x()</script> & <b>bold"),
            "Alert: \u{2039}script\u{203A}x()\u{2039}/script\u{203A} & \u{2039}b\u{203A}bold"
        );
        assert_eq!(title_safe("1 < 2 > 0 <3"), "1 < 2 > 0 <3");
        assert_eq!(title_safe("Tram\u{0}<!--"), "Tram\u{2039}!--");
    }

    #[test]
    fn a_character_xml_escapes_is_found_at_any_position() {
        for special in ['<', '>', '&', '\'', '"', 'ż', '=', ';', '\u{7f}'] {
            for at in 0..20 {
                for len in at + 1..24 {
                    let mut text: String = "ab".repeat(12)[..len].to_string();
                    text.replace_range(at..at + 1, &special.to_string());
                    let mut xml = String::new();
                    escape_xml_into(&mut xml, &text);
                    assert_eq!(xml, escaped_bytewise(&text), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for text in [
            "",
            "plain",
            "a longer text, over eight bytes, with nothing to escape in it",
            "twelve bytes\"",
            "0123456\u{1}89abcdef\\xyz\u{1f}",
            "ąę\"żźćń€\u{7f}\u{80} and \\ at the end\\",
            "<a href=\"x\">\\</a>",
            "tab\tline\nret\r\u{8}\u{c}\u{1}\u{1f}\u{7f} ż/€",
        ] {
            let serde = serde_json::to_string(text).unwrap_or_default();
            assert_eq!(format!("\"{}\"", escape_json(text)), serde);
        }
    }

    #[test]
    fn a_character_json_escapes_is_found_at_any_position() {
        for special in [
            '"', '\\', '\n', '\u{0}', '\u{1f}', ' ', '!', '#', '[', ']', '\u{7f}',
        ] {
            for at in 0..20 {
                for len in at + 1..24 {
                    let mut text: String = "ab".repeat(12)[..len].to_string();
                    text.replace_range(at..at + 1, &special.to_string());
                    let serde = serde_json::to_string(&text).unwrap_or_default();
                    assert_eq!(format!("\"{}\"", escape_json(&text)), serde, "{text:?}");
                }
            }
        }
    }
}
