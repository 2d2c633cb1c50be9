//! HTML sanitizing for republished text, and HTML to plain text.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};

use ammonia::{Builder, UrlRelative};
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer,
};
use url::Url;

/// Formatting a feed reader can show; everything else is unwrapped to its text.
const TAGS: &[&str] = &[
    "p",
    "br",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "s",
    "sub",
    "sup",
    "small",
    "mark",
    "blockquote",
    "q",
    "cite",
    "code",
    "pre",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "hr",
    "figure",
    "figcaption",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "th",
    "td",
    "caption",
    "a",
    "img",
    "abbr",
    "time",
    "span",
    "div",
];

/// Elements whose text is code or noise, never something to read.
const DROPPED_WITH_CONTENT: &[&str] = &[
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "svg",
    "math",
    "template",
    "noembed",
    "noframes",
    "xmp",
    "textarea",
    "select",
    "title",
    "head",
    // Read as raw text by the parser, these would show their markup as words.
    "noscript",
    "plaintext",
];

/// Elements that separate words when their markup is removed. A `match`, not a
/// list: it is asked for every tag of every summary.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "br"
            | "div"
            | "li"
            | "ul"
            | "ol"
            | "dl"
            | "dt"
            | "dd"
            | "tr"
            | "td"
            | "th"
            | "table"
            | "caption"
            | "blockquote"
            | "pre"
            | "hr"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "figure"
            | "figcaption"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "aside"
            | "nav"
            | "main"
            | "address"
            | "img"
    )
}

const LINK_REL: &str = "noopener noreferrer nofollow";

/// The HTML tree builder slows down quadratically with nesting depth; no real article
/// nests this deep, so deeper markup is served as its plain text.
const MAX_HTML_DEPTH: usize = 256;

/// Elements that never hold children or that the parser closes by itself, so they
/// do not deepen the tree however many are left open.
const NOT_NESTING: &[&str] = &[
    "br", "img", "hr", "wbr", "input", "meta", "link", "area", "base", "col", "embed", "param",
    "source", "track", "p", "li", "dt", "dd", "tr", "td", "th", "option",
];

thread_local! {
    /// Building the allowlists costs as much as sanitizing a short summary, so each
    /// thread keeps one builder and only swaps the base URL.
    static BUILDER: RefCell<Builder<'static>> = RefCell::new(builder());
}

/// Sanitizes feed HTML for republishing. Relative URLs are resolved against `base`,
/// or dropped when there is none.
pub fn sanitize(html: &str, base: Option<&Url>) -> String {
    if nests_deeper_than(html, MAX_HTML_DEPTH) {
        return format!("<p>{}</p>", escape_html(&plain_text(html)));
    }
    BUILDER.with_borrow_mut(|builder| {
        builder.url_relative(match base {
            Some(base) => UrlRelative::RewriteWithBase(base.clone()),
            None => UrlRelative::Deny,
        });
        serialized(&builder.clean(html), html.len())
    })
}

/// The markup of `doc`, written straight into one buffer: its `Display` writes a
/// buffer of its own, checks it, then copies it through a formatter.
fn serialized(doc: &ammonia::Document, size_hint: usize) -> String {
    let mut out = Vec::with_capacity(size_hint);
    // Writing into memory cannot fail, and the serializer writes only UTF-8: neither
    // fallback is ever taken.
    if doc.write_to(&mut out).is_err() {
        return doc.to_string();
    }
    super::utf8_string(out)
}

fn builder() -> Builder<'static> {
    let mut builder = Builder::default();
    builder
        .tags(TAGS.iter().copied().collect())
        .clean_content_tags(DROPPED_WITH_CONTENT.iter().copied().collect())
        .generic_attributes(["lang", "title"].into_iter().collect())
        .generic_attribute_prefixes(HashSet::new())
        .tag_attributes(tag_attributes())
        .allowed_classes(HashMap::new())
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some(LINK_REL))
        .strip_comments(true)
        .attribute_filter(|element, attribute, value| {
            if element == "img" && attribute == "src" && !is_web_or_relative(value) {
                None
            } else {
                Some(value.into())
            }
        });
    builder
}

fn tag_attributes() -> HashMap<&'static str, HashSet<&'static str>> {
    [
        ("a", &["href"][..]),
        ("img", &["src", "alt", "width", "height"][..]),
        ("td", &["colspan", "rowspan"][..]),
        ("th", &["colspan", "rowspan"][..]),
        ("time", &["datetime"][..]),
    ]
    .into_iter()
    .map(|(tag, attrs)| (tag, attrs.iter().copied().collect()))
    .collect()
}

/// Images may only come from the web: a `mailto:` picture is nonsense at best.
fn is_web_or_relative(value: &str) -> bool {
    match Url::parse(value.trim()) {
        Ok(url) => matches!(url.scheme(), "http" | "https"),
        Err(_) => true,
    }
}

/// The words of `html` as a reader would see them: tags removed, entities decoded,
/// scripts and styles dropped, whitespace collapsed to single spaces.
pub fn plain_text(html: &str) -> String {
    // Without a tag, an entity or a NUL (which it drops) the tokenizer would
    // hand every character over as text, so most titles need no tokenizer,
    // whose setup alone costs more than reading them.
    if !html.bytes().any(|b| matches!(b, b'<' | b'&' | 0)) {
        return collapse_whitespace(html);
    }
    tokenized_text(html)
}

/// The words of `html` as the HTML tokenizer reads them.
fn tokenized_text(html: &str) -> String {
    let tokenizer = Tokenizer::new(TextSink::default(), Default::default());
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from(html));
    // The sink never asks to pause for scripts, so one feed consumes the whole input.
    let _ = tokenizer.feed(&queue);
    tokenizer.end();
    tokenizer.sink.text.take().out
}

/// The words of markup that [`sanitize`] produced, as [`plain_text`] reads them.
/// That markup is regular (lower-case allowed tags, quoted attributes, a handful
/// of entities), so a scan replaces the tokenizer, which cost as much as a fifth
/// of cleaning; anything the scan does not expect goes to the tokenizer.
pub fn sanitized_text(html: &str) -> String {
    scan_sanitized(html).unwrap_or_else(|| plain_text(html))
}

fn scan_sanitized(html: &str) -> Option<String> {
    let mut words = Collapsed {
        out: String::with_capacity(html.len()),
        space: false,
    };
    let mut rest = html;
    // Bytes, not chars: both markers are ASCII, and a char search decodes every character.
    while let Some(stop) = memchr::memchr2(b'<', b'&', rest.as_bytes()) {
        words.push(&rest[..stop]);
        rest = &rest[stop..];
        let len = if rest.starts_with('<') {
            skip_tag(rest, &mut words)?
        } else {
            let (decoded, len) = SANITIZED_ENTITIES
                .iter()
                .find(|(entity, _)| rest.starts_with(entity))
                .map(|(entity, decoded)| (*decoded, entity.len()))?;
            words.push(decoded);
            len
        };
        rest = &rest[len..];
    }
    words.push(rest);
    Some(words.out)
}

/// The entities ammonia's serializer and [`escape_html`] write.
const SANITIZED_ENTITIES: &[(&str, &str)] = &[
    ("&amp;", "&"),
    ("&lt;", "<"),
    ("&gt;", ">"),
    ("&quot;", "\""),
    ("&#39;", "'"),
    ("&nbsp;", "\u{a0}"),
];

/// The length of the tag `html` opens with, separating words at a block; `None`
/// for anything but a plain start or end tag of an element whose content is text.
fn skip_tag(html: &str, words: &mut Collapsed) -> Option<usize> {
    let bytes = html.as_bytes();
    let start = if bytes.get(1) == Some(&b'/') { 2 } else { 1 };
    let name_len = bytes[start..]
        .iter()
        .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        .count();
    let name = &html[start..start + name_len];
    if name_len == 0 || raw_kind(name).is_some() || DROPPED_WITH_CONTENT.contains(&name) {
        return None;
    }
    let mut quoted = false;
    for (i, &b) in bytes.iter().enumerate().skip(start + name_len) {
        match b {
            b'"' => quoted = !quoted,
            b'>' if !quoted => {
                if is_block(name) {
                    words.separate();
                }
                return Some(i + 1);
            }
            _ if quoted || b.is_ascii_alphanumeric() || b" \t\n-_:=/".contains(&b) => {}
            _ => return None,
        }
    }
    None
}

fn nests_deeper_than(html: &str, limit: usize) -> bool {
    // Every element is opened by a '<': with no more of them than the limit, the
    // markup cannot nest deeper, and the tokenizer pass is not needed.
    if memchr::memchr_iter(b'<', html.as_bytes()).count() <= limit {
        return false;
    }
    let sink = DepthSink {
        depth: Cell::new(0),
        deepest: Cell::new(0),
    };
    let tokenizer = Tokenizer::new(sink, Default::default());
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from(html));
    let _ = tokenizer.feed(&queue);
    tokenizer.end();
    tokenizer.sink.deepest.get() > limit
}

struct DepthSink {
    depth: Cell<usize>,
    deepest: Cell<usize>,
}

impl TokenSink for DepthSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        if let Token::TagToken(tag) = token
            && !tag.self_closing
            && !NOT_NESTING.contains(&&*tag.name)
        {
            let depth = match tag.kind {
                TagKind::StartTag => self.depth.get() + 1,
                TagKind::EndTag => self.depth.get().saturating_sub(1),
            };
            self.depth.set(depth);
            self.deepest.set(self.deepest.get().max(depth));
            return raw_kind(&tag.name).map_or(TokenSinkResult::Continue, TokenSinkResult::RawData);
        }
        TokenSinkResult::Continue
    }
}

/// Whitespace runs become one space; control characters go; ends are trimmed.
pub fn collapse_whitespace(text: &str) -> String {
    let mut words = Collapsed::default();
    words.push(text);
    words.out
}

/// Text with whitespace collapsed as it is appended, so the words of a page are
/// copied once.
#[derive(Default)]
struct Collapsed {
    out: String,
    /// A separator came after the last word; it becomes a space if a word follows.
    space: bool,
}

impl Collapsed {
    fn push(&mut self, text: &str) {
        let bytes = text.as_bytes();
        // Words and the single spaces between them are copied in runs.
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let space_inside_run =
                b == b' ' && i > start && bytes.get(i + 1).is_some_and(|&next| is_plain(next));
            if is_plain(b) || space_inside_run {
                i += 1;
                continue;
            }
            let (separates, len) = if b < 0x80 {
                (true, 1)
            } else {
                let c = text[i..].chars().next().unwrap_or_default();
                (c.is_whitespace() || c.is_control(), c.len_utf8())
            };
            if separates {
                self.push_word(&text[start..i]);
                self.separate();
                start = i + len;
            }
            i += len;
        }
        self.push_word(&text[start..]);
    }

    fn separate(&mut self) {
        self.space = true;
    }

    fn push_word(&mut self, word: &str) {
        if word.is_empty() {
            return;
        }
        if self.space && !self.out.is_empty() {
            self.out.push(' ');
        }
        self.space = false;
        self.out.push_str(word);
    }
}

/// Whether a byte of UTF-8 text is part of a word whatever surrounds it: not
/// ASCII whitespace or control, and not one of the few lead bytes that can
/// start a Unicode space or control character (U+0080–U+00A0 start with 0xC2,
/// U+1680 with 0xE1, U+2000–U+205F with 0xE2, U+3000 with 0xE3). Continuation
/// bytes never take those values, so letters of any script pass byte by byte.
/// A table: it is asked for every byte of every text.
fn is_plain(b: u8) -> bool {
    PLAIN_BYTES[usize::from(b)]
}

static PLAIN_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = b > 0x20 && b != 0x7f && b != 0xc2 && !(b >= 0xe1 && b <= 0xe3);
        b += 1;
    }
    table
};

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Writing into a String cannot fail.
    let _ = escape_html_into(&mut out, text);
    out
}

/// [`escape_html`], written into `out` instead of a string of its own. The
/// five characters are ASCII, so runs between them are copied as they are.
pub fn escape_html_into(out: &mut impl std::fmt::Write, text: &str) -> std::fmt::Result {
    let mut clean = 0;
    for (at, byte) in text.bytes().enumerate() {
        let entity = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.write_str(&text[clean..at])?;
        out.write_str(entity)?;
        clean = at + 1;
    }
    out.write_str(&text[clean..])
}

/// Collects character tokens; a tokenizer alone needs no tree, so any nesting depth is fine.
#[derive(Default)]
struct TextSink {
    text: RefCell<Collapsed>,
    /// The element whose content is being skipped (a script, a style…).
    skipping: RefCell<Option<String>>,
}

impl TextSink {
    fn tag(&self, tag: &Tag) -> TokenSinkResult<()> {
        let name: &str = &tag.name;
        if is_block(name) {
            self.text.borrow_mut().separate();
        }
        let mut skipping = self.skipping.borrow_mut();
        match tag.kind {
            TagKind::EndTag => {
                if skipping.as_deref() == Some(name) {
                    *skipping = None;
                }
                TokenSinkResult::Continue
            }
            TagKind::StartTag if skipping.is_some() || tag.self_closing => {
                TokenSinkResult::Continue
            }
            TagKind::StartTag => match raw_kind(name) {
                Some(kind) => {
                    if DROPPED_WITH_CONTENT.contains(&name) {
                        *skipping = Some(name.to_string());
                    }
                    TokenSinkResult::RawData(kind)
                }
                None if DROPPED_WITH_CONTENT.contains(&name) => {
                    *skipping = Some(name.to_string());
                    TokenSinkResult::Continue
                }
                None => TokenSinkResult::Continue,
            },
        }
    }

    fn push(&self, chars: &str) {
        if self.skipping.borrow().is_some() {
            return;
        }
        self.text.borrow_mut().push(chars);
    }
}

/// How the HTML tokenizer must read the content of an element, as a browser would.
fn raw_kind(name: &str) -> Option<RawKind> {
    match name {
        "script" => Some(RawKind::ScriptData),
        "style" | "iframe" | "xmp" | "noembed" | "noframes" | "noscript" => Some(RawKind::Rawtext),
        "textarea" | "title" => Some(RawKind::Rcdata),
        _ => None,
    }
}

impl TokenSink for TextSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            Token::TagToken(tag) => self.tag(&tag),
            Token::CharacterTokens(chars) => {
                self.push(&chars);
                TokenSinkResult::Continue
            }
            _ => TokenSinkResult::Continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitized_markup_reads_as_the_tokenizer_reads_it() {
        let base = Url::parse("https://www.krakow.pl/aktualnosci/").ok();
        let vectors = include_str!("../../tests/fixtures/xss/vectors.txt").lines();
        let articles = [
            "<p>Zaż&oacute;łć&nbsp;<b>gęślą</b></p><p>jaźń &amp; \"cytat\" 'x' &lt;y&gt;</p>",
            "<a href=\"/x?a=1&b=2\" title=\"a > b\">link</a><br>dalej<img src=x alt=\"<p>\">koniec",
            "<div><ul><li>jeden</li><li>dwa</li></ul>trzy<pre>\r\n  cztery</pre></div>",
        ];
        for html in vectors.chain(articles) {
            let clean = sanitize(html, base.as_ref());
            assert_eq!(sanitized_text(&clean), plain_text(&clean), "{html}");
        }
        assert_eq!(
            sanitized_text(&sanitize(articles[1], base.as_ref())),
            "link dalej koniec"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_text_reads_as_the_tokenizer_reads_it(text in "[a-zł \\t\\r\\n\\x00\\x7f\u{a0}\u{2028}<>&;/]{0,40}|\\PC{0,40}") {
            proptest::prop_assert_eq!(plain_text(&text), tokenized_text(&text));
        }
    }

    /// Whitespace and control characters as Unicode defines them, one char at a time.
    fn collapsed_by_chars(text: &str) -> String {
        text.split(|c: char| c.is_whitespace() || c.is_control())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    proptest::proptest! {
        #[test]
        fn whitespace_collapses_as_unicode_defines_it(text in "[a\\x00-\\x20\\x7f\u{80}-\u{a1}\u{1680}\u{2000}-\u{2030}\u{205f}\u{3000}łüß€𝄞]{0,40}|\\PC{0,40}") {
            proptest::prop_assert_eq!(collapse_whitespace(&text), collapsed_by_chars(&text));
        }
    }

    /// Text without markup skips the tokenizer; what the reader sees must not change.
    #[test]
    fn text_without_markup_reads_as_the_tokenizer_reads_it() {
        for text in [
            "  Hejnał\r\n mariacki\tgra >  o 12:00 ",
            "nul\0between\u{7f}and\u{a0}nbsp\u{2028}line",
            "\r\rKraków\n",
            "",
        ] {
            assert_eq!(plain_text(text), tokenized_text(text), "{text:?}");
        }
        assert_eq!(plain_text(" Hejnał\r\n mariacki "), "Hejnał mariacki");
    }

    #[test]
    fn plain_text_decodes_and_drops_markup() {
        assert_eq!(
            plain_text(
                "<p>Zaż&oacute;łć&nbsp;<b>gęślą</b></p><p>jaźń</p><script>alert(1)</script>"
            ),
            "Zażółć gęślą jaźń"
        );
        assert_eq!(plain_text("A &amp; B &lt;c&gt;"), "A & B <c>");
        assert_eq!(
            plain_text("<style>p{}</style>x<svg><text>y</text></svg>"),
            "x"
        );
    }

    #[test]
    fn sanitize_keeps_formatting_and_fixes_links() {
        let base = Url::parse("https://krakow.pl/news/").ok();
        let out = sanitize(
            r#"<p class="x" style="color:red" onclick="evil()">Hi <a href="a.html">there</a><img src="i.png" alt="pic"></p>"#,
            base.as_ref(),
        );
        assert_eq!(
            out,
            r#"<p>Hi <a href="https://krakow.pl/news/a.html" rel="noopener noreferrer nofollow">there</a><img src="https://krakow.pl/news/i.png" alt="pic"></p>"#
        );
    }

    #[test]
    fn sanitize_drops_relative_links_without_base() {
        assert_eq!(
            sanitize(r#"<a href="a.html">x</a>"#, None),
            r#"<a rel="noopener noreferrer nofollow">x</a>"#
        );
    }

    #[test]
    fn images_come_only_from_the_web() {
        assert_eq!(sanitize(r#"<img src="mailto:a@b.pl">"#, None), "<img>");
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let html = "<div>".repeat(100_000) + "deep &amp; <b>dark</b>";
        let started = std::time::Instant::now();
        assert_eq!(plain_text(&html), "deep & dark");
        assert_eq!(sanitize(&html, None), "<p>deep &amp; dark</p>");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
