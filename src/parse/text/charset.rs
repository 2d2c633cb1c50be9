//! Which character encoding a fetched document is in, and reading it as UTF-8.
//!
//! The order of the evidence: a byte order mark; then bytes that can only be
//! UTF-16, UTF-32 or EBCDIC (XML 1.0, Appendix F); then, for bytes that read as
//! ASCII, the Content-Type charset before the XML declaration's `encoding`
//! (RFC 7303), except that a document which is valid UTF-8 is read as UTF-8
//! whatever it claims. Labels are those of the WHATWG Encoding Standard plus the
//! spellings and code pages Python's codecs know, so that every feed another
//! reader such as feedparser can read, hejnal can read too.

use std::borrow::Cow;
use std::sync::LazyLock;

use encoding_rs::{
    Encoding, ISO_2022_JP, ISO_8859_2, REPLACEMENT, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1250,
    WINDOWS_1252,
};
use memchr::{memchr_iter, memmem};

use super::codepages::{ALIASES, CP037};

/// The XML declaration sits at the very start; a few hundred bytes is plenty.
const PROLOG_SCAN_BYTES: usize = 1024;

/// What an entry of the label table names.
#[derive(Clone, Copy)]
pub(super) enum Alias {
    /// An encoding of the WHATWG Encoding Standard, by its label.
    Web(&'static str),
    /// UTF-32 of either byte order.
    Utf32,
    Utf32Le,
    Utf32Be,
    /// A single-byte code page that is ASCII below 0x80; the table holds the rest.
    High(&'static [u16; 128]),
    /// A single-byte code page that is not ASCII-compatible (EBCDIC, cp864).
    Full(&'static [u16; 256]),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Charset {
    Web(&'static Encoding),
    Utf32Le,
    Utf32Be,
    High(&'static [u16; 128]),
    Full(&'static [u16; 256]),
}

impl Charset {
    /// Two or four bytes a character: such a label on bytes that read as ASCII is wrong.
    fn is_wide(self) -> bool {
        matches!(self, Charset::Utf32Le | Charset::Utf32Be)
            || self == Charset::Web(UTF_16LE)
            || self == Charset::Web(UTF_16BE)
    }

    fn is_ebcdic(self) -> bool {
        matches!(self, Charset::Full(table) if table[0x40] == 0x20)
    }
}

/// The encoding a label names, however the publisher spelled it: `windows_1250`,
/// `ISO8859-2`, `latin_1`, `cp852`, `x-mac-greek`…
pub(super) fn lookup(label: &str) -> Option<Charset> {
    let label = label.trim();
    // Labels are short; anything long is junk, and need not be copied below.
    if label.is_empty() || label.len() > 40 {
        return None;
    }
    if let Some(encoding) = Encoding::for_label(label.as_bytes()) {
        // "replacement" would turn the whole feed into one U+FFFD.
        return (encoding != REPLACEMENT).then_some(Charset::Web(encoding));
    }
    let key: String = label
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if let Ok(at) = ALIASES.binary_search_by(|(k, _)| (*k).cmp(key.as_str())) {
        return match ALIASES[at].1 {
            Alias::Web(name) => Encoding::for_label(name.as_bytes()).map(Charset::Web),
            Alias::Utf32 | Alias::Utf32Be => Some(Charset::Utf32Be),
            Alias::Utf32Le => Some(Charset::Utf32Le),
            Alias::High(table) => Some(Charset::High(table)),
            Alias::Full(table) => Some(Charset::Full(table)),
        };
    }
    let unprefixed = label
        .strip_prefix("x-")
        .or_else(|| label.strip_prefix("x_"))
        .or_else(|| label.strip_prefix("X-"))
        .or_else(|| label.strip_prefix("X_"))?;
    lookup(unprefixed)
}

/// An encoding the first bytes settle on their own, and the length of its BOM.
fn sniff(body: &[u8]) -> Option<(Charset, usize)> {
    let web = Charset::Web;
    Some(match body {
        [0xEF, 0xBB, 0xBF, ..] => (web(UTF_8), 3),
        // Before UTF-16's marks, which these begin with.
        [0x00, 0x00, 0xFE, 0xFF, ..] => (Charset::Utf32Be, 4),
        [0xFF, 0xFE, 0x00, 0x00, ..] => (Charset::Utf32Le, 4),
        [0xFE, 0xFF, ..] => (web(UTF_16BE), 2),
        [0xFF, 0xFE, ..] => (web(UTF_16LE), 2),
        // No BOM: a document starts with `<`, `{` or white space, and zeros
        // around such a character tell the width and the byte order.
        [0, 0, 0, a, ..] if *a != 0 => (Charset::Utf32Be, 0),
        [a, 0, 0, 0, ..] if *a != 0 => (Charset::Utf32Le, 0),
        [0, a, 0, b, ..] if a.is_ascii() && b.is_ascii() && *a != 0 && *b != 0 => {
            (web(UTF_16BE), 0)
        }
        [a, 0, b, 0, ..] if a.is_ascii() && b.is_ascii() && *a != 0 && *b != 0 => {
            (web(UTF_16LE), 0)
        }
        [0x4C, 0x6F, 0xA7, 0x94, ..] => (Charset::Full(&CP037), 0),
        _ => return None,
    })
}

/// Decodes the whole body to UTF-8.
pub(super) fn decode<'a>(body: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    if let Some((charset, bom_len)) = sniff(body) {
        let charset = if charset.is_ebcdic() {
            // `<?xm` in EBCDIC: which EBCDIC code page, its declaration says.
            let head = &body[..body.len().min(PROLOG_SCAN_BYTES)];
            let (head, _) = decode_with(charset, head);
            prolog_label(head.as_bytes())
                .and_then(lookup)
                .filter(|c| c.is_ebcdic())
                .unwrap_or(charset)
        } else {
            charset
        };
        return decode_with(charset, &body[bom_len..]).0;
    }
    // The bytes read as ASCII, so a label naming UTF-16 or UTF-32 is wrong.
    let declared = [content_type.and_then(charset_param), prolog_label(body)]
        .map(|label| label.and_then(lookup).filter(|c| !c.is_wide()));
    // Multi-byte UTF-8 hardly ever forms by chance in text of another encoding,
    // while servers often send a default charset with every response.
    if !declared.contains(&Some(Charset::Web(ISO_2022_JP)))
        && let Some(text) = valid_utf8(body)
    {
        return Cow::Borrowed(text);
    }
    for charset in declared.into_iter().flatten() {
        if charset == Charset::Web(UTF_8) {
            continue;
        }
        if let (text, false) = decode_with(charset, body) {
            return text;
        }
    }
    // feedparser too reads a document its declared encoding fails on as if no
    // encoding were declared.
    utf8_or_legacy(body)
}

/// Whether anything names the body's encoding (a byte order mark, the
/// Content-Type's charset, the XML declaration), and whether its bytes are
/// valid UTF-8: what the status page tells a webmaster about how hejnal had
/// to read them.
pub(super) fn declared_and_utf8(body: &[u8], content_type: Option<&str>) -> (bool, bool) {
    let declared = sniff(body).is_some()
        || content_type.and_then(charset_param).is_some()
        || prolog_label(body).is_some();
    (declared, valid_utf8(body).is_some())
}

/// The charset parameter of a Content-Type, quoted or not.
fn charset_param(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(['"', '\'']).trim())
    })
}

/// The `encoding` of an XML declaration at the start of bytes that read as ASCII.
fn prolog_label(body: &[u8]) -> Option<&str> {
    let head = &body[..body.len().min(PROLOG_SCAN_BYTES)];
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let prolog = head[start..].strip_prefix(b"<?xml")?;
    let prolog = &prolog[..memmem::find(prolog, b"?>")?];
    let at = memmem::find(prolog, b"encoding")?;
    let rest = prolog[at + b"encoding".len()..].trim_ascii_start();
    let rest = rest.strip_prefix(b"=")?.trim_ascii_start();
    let (&quote, rest) = rest.split_first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let value = &rest[..memchr::memchr(quote, rest)?];
    std::str::from_utf8(value).ok()
}

/// Decodes with one encoding; the flag tells whether some bytes were not valid in it.
fn decode_with(charset: Charset, bytes: &[u8]) -> (Cow<'_, str>, bool) {
    match charset {
        Charset::Web(encoding) if encoding == UTF_8 => {
            let text = utf8_or_legacy(bytes);
            let repaired = matches!(text, Cow::Owned(_));
            (text, repaired)
        }
        Charset::Web(encoding) => {
            let (text, had_errors) = encoding.decode_without_bom_handling(bytes);
            (text, had_errors)
        }
        Charset::Utf32Le => utf32(bytes, u32::from_le_bytes),
        Charset::Utf32Be => utf32(bytes, u32::from_be_bytes),
        Charset::High(table) => single_byte(bytes, |b| match b.checked_sub(0x80) {
            None => b.into(),
            Some(high) => table[usize::from(high)],
        }),
        Charset::Full(table) => single_byte(bytes, |b| table[usize::from(b)]),
    }
}

fn utf32(bytes: &[u8], read: fn([u8; 4]) -> u32) -> (Cow<'_, str>, bool) {
    let chunks = bytes.chunks_exact(4);
    let mut had_errors = !chunks.remainder().is_empty();
    let mut text = String::with_capacity(bytes.len() / 4);
    for chunk in chunks {
        let code = read([chunk[0], chunk[1], chunk[2], chunk[3]]);
        text.push(char::from_u32(code).unwrap_or_else(|| {
            had_errors = true;
            char::REPLACEMENT_CHARACTER
        }));
    }
    if !bytes.len().is_multiple_of(4) {
        text.push(char::REPLACEMENT_CHARACTER);
    }
    (Cow::Owned(text), had_errors)
}

fn single_byte(bytes: &[u8], code: impl Fn(u8) -> u16) -> (Cow<'_, str>, bool) {
    let mut had_errors = false;
    let mut text = String::with_capacity(bytes.len() + bytes.len() / 2);
    for &b in bytes {
        let c = char::from_u32(code(b).into()).unwrap_or(char::REPLACEMENT_CHARACTER);
        had_errors |= c == char::REPLACEMENT_CHARACTER;
        text.push(c);
    }
    (Cow::Owned(text), had_errors)
}

/// UTF-8, with each byte that is not part of valid UTF-8 read as a single-byte
/// encoding instead of U+FFFD: CMSs paste Windows text into UTF-8 pages, and
/// `Café “Polska”` should not become `Caf� �Polska�`. Windows-1252 as a rule,
/// but Polish sites of old write ISO-8859-2 or Windows-1250, so whichever of
/// these reads the stray bytes as more letters and fewer odd symbols wins.
pub(super) fn utf8_or_legacy(bytes: &[u8]) -> Cow<'_, str> {
    if let Some(text) = valid_utf8(bytes) {
        return Cow::Borrowed(text);
    }
    let table = legacy_table(bytes);
    let mut text = String::with_capacity(bytes.len() + bytes.len() / 2);
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        // Bytes below 0x80 are always valid UTF-8, so every one here is in the table.
        text.extend(chunk.invalid().iter().map(|&b| match b.checked_sub(0x80) {
            Some(high) => table[usize::from(high)],
            None => char::from(b),
        }));
    }
    Cow::Owned(text)
}

/// The bytes as text if they are valid UTF-8. encoding_rs checks mostly-ASCII
/// text with a few accented letters several times faster than the standard library.
fn valid_utf8(bytes: &[u8]) -> Option<&str> {
    match UTF_8.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(Cow::Borrowed(text)) => Some(text),
        _ => None,
    }
}

/// Enough stray bytes to tell the candidates apart, without copying a huge body.
const LEGACY_SAMPLE_BYTES: usize = 1 << 16;

/// The upper half (0x80–0xFF) of the encoding that suits the invalid bytes best.
fn legacy_table(bytes: &[u8]) -> [char; 128] {
    let stray: Vec<u8> = bytes
        .utf8_chunks()
        .flat_map(|chunk| chunk.invalid().iter().copied())
        .take(LEGACY_SAMPLE_BYTES)
        .collect();
    let score = |encoding: &'static Encoding| {
        let (text, _) = encoding.decode_without_bom_handling(&stray);
        text.chars().filter(|c| plausible(*c)).count()
    };
    let mut best = (WINDOWS_1252, score(WINDOWS_1252));
    // Windows-1252 keeps ties: Western letters read the same in all three.
    for encoding in [ISO_8859_2, WINDOWS_1250] {
        let points = score(encoding);
        if points > best.1 {
            best = (encoding, points);
        }
    }
    upper_half(best.0)
}

/// What a single-byte encoding puts at 0x80–0xFF.
fn upper_half(encoding: &'static Encoding) -> [char; 128] {
    let high: [u8; 128] = std::array::from_fn(|i| 0x80 | (i as u8));
    let (text, _) = encoding.decode_without_bom_handling(&high);
    let mut table = [char::REPLACEMENT_CHARACTER; 128];
    for (slot, c) in table.iter_mut().zip(text.chars()) {
        *slot = c;
    }
    table
}

/// A character text in a Latin script is made of, as opposed to the rare signs
/// (`±`, `¶`, `¼`, C1 controls) a wrong code page turns letters into.
fn plausible(c: char) -> bool {
    c.is_alphabetic()
        || matches!(
            c,
            '\u{A0}'
                | '€'
                | '‚'
                | '„'
                | '…'
                | '†'
                | '‡'
                | '‰'
                | '‹'
                | '›'
                | '‘'
                | '’'
                | '“'
                | '”'
                | '•'
                | '–'
                | '—'
                | '™'
                | '«'
                | '»'
                | '°'
                | '©'
                | '®'
                | '§'
                | '·'
                | '¿'
                | '¡'
        )
}

/// Windows-1252's upper half; the five bytes it leaves undefined stay C1
/// controls, as in the WHATWG Encoding Standard.
static WINDOWS_1252_HIGH: LazyLock<[char; 128]> = LazyLock::new(|| upper_half(WINDOWS_1252));

/// One byte as Windows-1252.
fn windows_1252(b: u8) -> char {
    match b.checked_sub(0x80) {
        Some(high) => WINDOWS_1252_HIGH[usize::from(high)],
        None => char::from(b),
    }
}

/// The character a C1 control (U+0080–U+009F) stands for when it is really a
/// Windows-1252 byte that went through a Latin-1 conversion, as HTML5 reads them.
fn c1_as_windows_1252(code: u32) -> Option<char> {
    let b = u8::try_from(code)
        .ok()
        .filter(|b| (0x80..=0x9F).contains(b))?;
    Some(windows_1252(b)).filter(|c| u32::from(*c) != code)
}

/// Characters U+0080–U+009F become what Windows-1252 puts at those bytes: no
/// feed means a C1 control, and `don\u{92}t` is `don’t`.
pub(super) fn repair_c1_chars(text: Cow<'_, str>) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    // In UTF-8, U+0080–U+009F are 0xC2 0x80–0x9F.
    let first = memchr_iter(0xC2, bytes)
        .find(|&i| bytes.get(i + 1).is_some_and(|b| (0x80..=0x9F).contains(b)));
    let Some(first) = first else {
        return text;
    };
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..first]);
    out.extend(
        text[first..]
            .chars()
            .map(|c| c1_as_windows_1252(c.into()).unwrap_or(c)),
    );
    Cow::Owned(out)
}

/// Character references to U+0080–U+009F (`&#146;`, `&#x92;`) become references
/// to the Windows-1252 characters they were meant as (`&#8217;`), as HTML5 reads
/// them. CDATA sections are left alone: their HTML is read by an HTML parser,
/// which maps them by itself.
pub(super) fn repair_c1_references(text: Cow<'_, str>) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let refs = memmem::Finder::new(b"&#");
    // Feeds are full of `&#8217;` and hardly ever hold a C1 reference: one cheap
    // pass to find none, before the pass that minds CDATA.
    if !refs
        .find_iter(bytes)
        .any(|at| c1_reference(&bytes[at..]).is_some())
    {
        return text;
    }
    let cdata = memmem::Finder::new(b"<![CDATA[");
    let cdata_end = memmem::Finder::new(b"]]>");
    let mut out: Option<String> = None;
    // Bytes before `copied` are in `out` already.
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        let segment_end = cdata.find(&bytes[at..]).map_or(bytes.len(), |p| at + p);
        for found in refs.find_iter(&bytes[at..segment_end]) {
            let start = at + found;
            let Some((end, c)) = c1_reference(&bytes[start..segment_end]) else {
                continue;
            };
            let out = out.get_or_insert_with(|| String::with_capacity(text.len() + 64));
            out.push_str(&text[copied..start]);
            out.push_str(&format!("&#{};", u32::from(c)));
            copied = start + end;
        }
        at = match cdata_end.find(&bytes[segment_end..]) {
            Some(p) => segment_end + p + 3,
            None => bytes.len(),
        };
    }
    match out {
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
        None => text,
    }
}

/// A reference at the start of `bytes` to a C1 control: its length and the
/// Windows-1252 character it stands for.
fn c1_reference(bytes: &[u8]) -> Option<(usize, char)> {
    let rest = bytes.strip_prefix(b"&#")?;
    let (radix, digits_at) = match rest.first() {
        Some(b'x' | b'X') => (16, 3),
        _ => (10, 2),
    };
    let digits = &bytes[digits_at..];
    let len = digits.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    // Long enough for leading zeros, short enough never to overflow.
    if len == 0 || len > 8 || digits.get(len) != Some(&b';') {
        return None;
    }
    let digits = std::str::from_utf8(&digits[..len]).ok()?;
    let code = u32::from_str_radix(digits, radix).ok()?;
    Some((digits_at + len + 1, c1_as_windows_1252(code)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_found_however_spelled() {
        let web = |label: &str| Encoding::for_label(label.as_bytes()).map(Charset::Web);
        for (label, same_as) in [
            ("windows_1250", "windows-1250"),
            ("WINDOWS 1250", "windows-1250"),
            ("iso8859_2", "iso-8859-2"),
            ("latin_1", "windows-1252"),
            ("utf_8", "utf-8"),
            ("U8", "utf-8"),
            ("x-cp1252", "windows-1252"),
            ("mac_cyrillic", "x-mac-cyrillic"),
            ("csIBM866", "ibm866"),
        ] {
            assert_eq!(lookup(label), web(same_as), "{label}");
        }
        let high = |label: &str| match lookup(label) {
            Some(Charset::High(table)) => Some(table[0]),
            _ => None,
        };
        assert_eq!(high("cp437"), Some(0xC7), "Ç at 0x80");
        assert_eq!(high("IBM437"), Some(0xC7));
        assert_eq!(high("cspc850multilingual"), Some(0xC7));
        assert_eq!(high("x-mac-greek"), Some(0xC4));
        assert_eq!(high("cp852"), Some(0xC7));
        assert!(lookup("ebcdic-cp-us").is_some_and(Charset::is_ebcdic));
        assert_eq!(lookup("utf-32le"), Some(Charset::Utf32Le));
        for junk in ["", "bogus", "replacement", "hz-gb-2312", &"x".repeat(500)] {
            assert_eq!(lookup(junk), None, "{junk}");
        }
    }

    #[test]
    fn wide_and_ebcdic_bytes_are_sniffed() {
        let web = Charset::Web;
        assert_eq!(sniff(b"\xFF\xFE\x00\x00<"), Some((Charset::Utf32Le, 4)));
        assert_eq!(sniff(b"\xFF\xFE<\x00"), Some((web(UTF_16LE), 2)));
        assert_eq!(sniff(b"\x00\x00\x00<"), Some((Charset::Utf32Be, 0)));
        assert_eq!(sniff(b"<\x00\x00\x00"), Some((Charset::Utf32Le, 0)));
        assert_eq!(sniff(b"\x00<\x00?"), Some((web(UTF_16BE), 0)));
        assert_eq!(sniff(b"\n\x00<\x00"), Some((web(UTF_16LE), 0)));
        assert!(sniff(b"\x4C\x6F\xA7\x94").is_some_and(|(c, _)| c.is_ebcdic()));
        assert_eq!(sniff(b"<?xml"), None);
        assert_eq!(sniff(b"<\x00"), None);
    }

    #[test]
    fn valid_utf8_is_not_copied() {
        let body = "<?xml version='1.0' encoding='windows-1250'?><t>Kraków</t>";
        let text = decode(body.as_bytes(), Some("text/xml; charset=iso-8859-2"));
        assert!(matches!(text, Cow::Borrowed(_)));
        let text = Cow::Borrowed("<t>&#8217; &#38; nbsp\u{a0} ©</t>");
        assert!(matches!(repair_c1_chars(text.clone()), Cow::Borrowed(_)));
        assert!(matches!(repair_c1_references(text), Cow::Borrowed(_)));
    }

    #[test]
    fn c1_references_are_rewritten_outside_cdata_only() {
        let fix = |s: &'static str| repair_c1_references(Cow::Borrowed(s)).into_owned();
        assert_eq!(
            fix("a&#146;b<![CDATA[&#146;]]>&#x92;<![CDATA[&#150;"),
            "a&#8217;b<![CDATA[&#146;]]>&#8217;<![CDATA[&#150;"
        );
        // Not C1, not finished, undefined in Windows-1252, or absurd: left alone.
        for same in [
            "&#127;&#160;&#8217;",
            "&#146",
            "&#x;&#;",
            "&#129;&#x9D;",
            "&#999999999999999999;",
            "&#x92x;",
        ] {
            assert_eq!(fix(same), same);
        }
        assert_eq!(fix("&#0000146;&#X80;"), "&#8217;&#8364;");
    }

    #[test]
    fn stray_bytes_in_utf8_keep_the_valid_text_around_them() {
        assert_eq!(utf8_or_legacy(b"\xC3\xB3 \xF3 \xE2\x80"), "ó ó â€");
        assert_eq!(utf8_or_legacy(b"\x81 \x93x\x94"), "\u{81} “x”");
        // ť and ś are letters in Windows-1250 only.
        assert_eq!(utf8_or_legacy(b"\x9D\x9C"), "ťś");
    }

    #[test]
    fn truncated_wide_text_ends_in_a_replacement_character() {
        assert_eq!(
            decode(b"\x00\x00\x00<\x00\x00\x00a\x00\x00", None),
            "<a\u{FFFD}"
        );
        assert_eq!(
            decode(b"\xFF\xFE\x00\x00\xFF\xFF\xFF\xFF", None),
            "\u{FFFD}"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_under_any_label_decode_without_panicking(
            head in proptest::sample::select(vec![
                &b""[..], b"\xFF\xFE\x00\x00", b"\xFE\xFF", b"\x00\x00\x00<", b"<\x00?\x00",
                b"\x4C\x6F\xA7\x94", b"<?xml encoding='cp037'?>", b"<![CDATA[&#",
            ]),
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            label in "(utf-?(8|16|32)|cp(437|852|037)|x-mac-greek|gb2312|iso-2022-jp|[a-z_ -]{0,12})",
        ) {
            let body = [head, &body].concat();
            let text = decode(&body, Some(&format!("text/xml; charset={label}")));
            let text = repair_c1_references(repair_c1_chars(text));
            proptest::prop_assert!(text.len() <= body.len() * 4 + 64);
        }
    }
}
