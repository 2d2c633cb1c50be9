//! Summaries made ready for publishing: sanitized once, in every form the
//! formats need, and shared by every feed and page that shows them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer,
};
use xxhash_rust::xxh3::xxh3_64;

use super::escape::{escape_json, xml_safe};
use crate::clean::html::{escape_html, plain_text};

/// One summary as the published files carry it. The forms other than HTML
/// are made when a format first asks: an archive page is RSS alone.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// Sanitized HTML that XML can carry: the body text of RSS and JSON Feed.
    pub html: String,
    xhtml: OnceLock<String>,
    json: OnceLock<String>,
    excerpt: OnceLock<String>,
}

impl Prepared {
    fn of(summary: &str) -> Prepared {
        // Summaries were sanitized when stored, but machine translations come back
        // from a remote engine: cleaning again here keeps scripts out of every feed.
        Prepared {
            html: xml_safe(&ammonia::clean(summary)),
            xhtml: OnceLock::new(),
            json: OnceLock::new(),
            excerpt: OnceLock::new(),
        }
    }

    /// The HTML as well-formed XHTML: the body text of Atom.
    pub fn xhtml(&self) -> &str {
        self.xhtml.get_or_init(|| to_xhtml(&self.html))
    }

    /// The HTML escaped as the contents of a JSON string, for JSON Feed.
    pub fn json(&self) -> &str {
        self.json.get_or_init(|| escape_json(&self.html))
    }

    /// The start of the text as plain words, for the web page.
    pub fn excerpt(&self) -> &str {
        self.excerpt
            .get_or_init(|| excerpt_of(&self.html, EXCERPT_CHARS))
    }
}

/// Prepared texts by the hash of their summary, each beside its summary: a
/// lookup hashes the summary once however many maps it asks, and a hit is
/// confirmed against the text, so two summaries that share a hash only cost
/// each other a cache miss.
type ByContent = HashMap<u64, (String, Arc<Prepared>)>;

/// The texts of the last render of the current files. A daemon renders mostly
/// the same stories every cycle and sanitizing is most of the cost of a render,
/// so the next render reuses them; only one render's texts are kept, so memory
/// does not grow with the store.
static LAST_RENDER: Mutex<Option<ByContent>> = Mutex::new(None);

/// The prepared texts of one render, each summary prepared once.
pub(crate) struct Texts {
    current: ByContent,
    /// The last render's texts, not used by this one yet.
    previous: ByContent,
    /// Whether this render's texts are kept for the next render.
    keep: bool,
    /// Whether the render writes RSS alone, so item bodies need HTML only.
    html_only: bool,
}

impl Texts {
    /// Texts that start from and are kept for the renders of the current files.
    pub fn shared() -> Texts {
        let previous = LAST_RENDER
            .lock()
            .map(|mut last| last.take())
            .unwrap_or_else(|poisoned| poisoned.into_inner().take())
            .unwrap_or_default();
        Texts {
            // Mostly the same stories as last time: sized once, not grown.
            current: ByContent::with_capacity(previous.len()),
            previous,
            keep: true,
            html_only: false,
        }
    }

    /// Texts of an archive page: RSS alone, of stories the next render will
    /// not show, so they neither use nor replace the shared ones.
    pub fn archive() -> Texts {
        Texts {
            current: ByContent::default(),
            previous: ByContent::default(),
            keep: false,
            html_only: true,
        }
    }

    /// Whether the render writes RSS alone, so item bodies need HTML only.
    pub fn html_only(&self) -> bool {
        self.html_only
    }

    /// `summary` prepared, sanitizing it only if this render or the last has not.
    pub fn prepare(&mut self, summary: &str) -> Arc<Prepared> {
        let hash = xxh3_64(summary.as_bytes());
        if let Some((text, done)) = self.current.get(&hash)
            && text == summary
        {
            return Arc::clone(done);
        }
        // A text kept from the last render brings its summary along: no copy.
        let (text, done) = self
            .previous
            .remove(&hash)
            .filter(|(text, _)| text == summary)
            .unwrap_or_else(|| (summary.to_string(), Arc::new(Prepared::of(summary))));
        self.current.insert(hash, (text, Arc::clone(&done)));
        done
    }
}

impl Drop for Texts {
    fn drop(&mut self) {
        if !self.keep {
            return;
        }
        let current = std::mem::take(&mut self.current);
        let mut last = LAST_RENDER
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *last = Some(current);
    }
}

/// Characters of a summary shown on the page; the feeds carry the rest.
const EXCERPT_CHARS: usize = 160;

/// The start of a summary as plain text, cut at a word near `max` characters.
/// `html` is the summary as the feeds' bodies carry it, already sanitized; the
/// page escapes the text again when it shows it.
pub(super) fn excerpt_of(html: &str, max: usize) -> String {
    let text = plain_text(html);
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = String::new();
    for word in words {
        let needed = out.chars().count() + word.chars().count() + 1;
        if needed > max {
            if out.is_empty() {
                out.extend(word.chars().take(max));
            }
            out.push('…');
            return out;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Elements that never have content: XML writes them self-closed.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

/// `html` re-serialized as well-formed XML: every text and attribute escaped,
/// every element closed, and stray end tags dropped.
pub(crate) fn to_xhtml(html: &str) -> String {
    let sink = XhtmlSink::default();
    let tokenizer = Tokenizer::new(sink, Default::default());
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from(html));
    // The sink never asks to pause, so one feed consumes the whole input.
    let _ = tokenizer.feed(&queue);
    tokenizer.end();
    let mut body = tokenizer.sink.out.take();
    for name in tokenizer.sink.open.take().iter().rev() {
        body.push_str(&format!("</{name}>"));
    }
    body
}

#[derive(Default)]
struct XhtmlSink {
    out: RefCell<String>,
    open: RefCell<Vec<String>>,
}

impl XhtmlSink {
    fn start(&self, tag: &Tag) {
        let name = tag.name.to_ascii_lowercase().to_string();
        if !is_xml_name(&name) {
            return;
        }
        let mut out = self.out.borrow_mut();
        out.push('<');
        out.push_str(&name);
        for attr in &tag.attrs {
            let attr_name = attr.name.local.to_ascii_lowercase().to_string();
            if !is_xml_name(&attr_name) {
                continue;
            }
            let value = escape_xml(&attr.value);
            out.push_str(&format!(" {attr_name}=\"{value}\""));
            if attr_name == "lang" {
                out.push_str(&format!(" xml:lang=\"{value}\""));
            }
        }
        if VOID.contains(&name.as_str()) || tag.self_closing {
            out.push_str("/>");
        } else {
            out.push('>');
            self.open.borrow_mut().push(name);
        }
    }

    fn end(&self, tag: &Tag) {
        let name = tag.name.to_ascii_lowercase().to_string();
        let mut open = self.open.borrow_mut();
        let Some(at) = open.iter().rposition(|n| *n == name) else {
            return;
        };
        let mut out = self.out.borrow_mut();
        for closed in open.drain(at..).rev() {
            out.push_str(&format!("</{closed}>"));
        }
    }
}

impl TokenSink for XhtmlSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            Token::TagToken(tag) => match tag.kind {
                TagKind::StartTag => self.start(&tag),
                TagKind::EndTag => self.end(&tag),
            },
            Token::CharacterTokens(text) => self.out.borrow_mut().push_str(&escape_xml(&text)),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// Plain ASCII names only: anything else could not be written as XML.
fn is_xml_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Escapes text for XML content and double-quoted attributes, dropping what
/// XML 1.0 cannot carry at all.
fn escape_xml(text: &str) -> String {
    escape_html(&xml_safe(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_shown_in_many_feeds_is_sanitized_once() {
        let mut texts = Texts::archive();
        let summary = "<p>Rynek</p><script>alert(1)</script>";
        let first = texts.prepare(summary);
        let again = texts.prepare(summary);
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(first.html, "<p>Rynek</p>");
        assert_eq!(first.xhtml(), "<p>Rynek</p>");
    }

    #[test]
    fn a_changed_summary_is_sanitized_again_on_the_next_render() {
        let mut last = Texts::shared();
        last.prepare("<p>old</p>");
        drop(last);
        let mut next = Texts::shared();
        let text = next.prepare("<p>new<img src=x onerror=alert(1)></p>");
        assert_eq!(text.html, "<p>new<img src=\"x\"></p>");
        assert_eq!(text.xhtml(), "<p>new<img src=\"x\"/></p>");
    }

    #[test]
    fn html_becomes_well_formed_xhtml_with_xml_lang() {
        let out = to_xhtml(
            "<div lang=\"pl\"><p>Za&nbsp;<b>1 &lt; 2 &amp; \"x\"</b><br><img src=\"https://a.pl/i.jpg?a=1&amp;b=2\" alt=\"\"></p></div>",
        );
        assert_eq!(
            out,
            "<div lang=\"pl\" xml:lang=\"pl\"><p>Za\u{a0}<b>1 &lt; 2 &amp; &quot;x&quot;</b><br/><img src=\"https://a.pl/i.jpg?a=1&amp;b=2\" alt=\"\"/></p></div>"
        );
    }

    #[test]
    fn broken_nesting_is_closed_and_stray_end_tags_dropped() {
        assert_eq!(
            to_xhtml("</p><b><i>x</b></div><p>y"),
            "<b><i>x</i></b><p>y</p>"
        );
    }

    #[test]
    fn excerpts_are_plain_text_cut_at_a_word() {
        assert_eq!(
            excerpt_of("<p>Tom &amp; Jerry &lt;3</p><script>evil()</script>", 100),
            "Tom & Jerry <3"
        );
        assert_eq!(excerpt_of("<p>one two three</p>", 9), "one two…");
        assert_eq!(excerpt_of("abcdefghij", 4), "abcd…");
        assert_eq!(excerpt_of("&amp;lt;", 10), "&lt;");
    }

    #[test]
    fn excerpts_keep_paragraphs_apart() {
        assert_eq!(
            excerpt_of("<p>Tram 4 is back.</p><p>Buses 124</p>", 100),
            "Tram 4 is back. Buses 124"
        );
    }
}
