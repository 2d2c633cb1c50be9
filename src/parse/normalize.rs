//! Real feeds that feed-rs refuses or misreads, rewritten into the form it reads
//! as their publishers meant them. feed-rs stays the parser; this room only
//! changes the shape of documents it does not know:
//!
//! - `<rss>` without a version, or with one feed-rs does not list (0.93, 0.94,
//!   2.01…), and RSS 2.0 put in a namespace (UserLand's), which hides every
//!   element from it;
//! - Atom 0.3 and the Atom drafts before it (other namespaces, `issued`,
//!   `modified`, `tagline`, `mode="escaped"` / `"base64"` content);
//! - RSS 1.0 (and namespace-less `<rdf>`) items without `<link>`, which feed-rs
//!   drops: as RSS 2.0 items keyed by their `rdf:about`;
//! - Microsoft's CDF (`<CHANNEL>`), as RSS 2.0;
//! - Atom text constructs with a `type` feed-rs refuses (a MIME type, another
//!   case, base64) or no text at all, any of which fails the whole feed in
//!   feed-rs: each is read as well as it can be, or left out.
//!
//! Every rewrite reads the document with quick-xml and copies what it does not
//! change byte for byte; a document quick-xml cannot read is left as it is, for
//! feed-rs to give its own reason.

use std::borrow::Cow;

use base64::Engine;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

const ATOM_NS: &str = "http://www.w3.org/2005/Atom";
const RSS1_NS: &str = "http://purl.org/rss/1.0/";
/// The RSS versions feed-rs dispatches on.
const RSS_VERSIONS: [&str; 3] = ["2.0", "0.91", "0.92"];

/// A document feed-rs reads as its publisher meant it, when this one would be
/// refused or misread; `None` when it needs no change.
pub fn prepare(doc: &str, root: &str) -> Option<String> {
    let local = super::text::local_name(root);
    if local == "rss" {
        rss_root(doc)
    } else if local.eq_ignore_ascii_case("rdf") {
        rdf_as_rss2(doc)
    } else if local.eq_ignore_ascii_case("channel") {
        cdf_as_rss2(doc)
    } else if local == "feed" && !root_in_namespace(doc, ATOM_NS) {
        atom(doc, true)
    } else {
        None
    }
}

/// An Atom 1.0 document whose text constructs feed-rs refused, with each one's
/// `type` made one feed-rs reads and empty ones left out.
pub fn atom_texts(doc: &str) -> Option<String> {
    atom(doc, false)
}

/// A quick-xml reader that also hands out the raw text of what it read.
pub(super) struct Cursor<'a> {
    doc: &'a str,
    reader: Reader<&'a [u8]>,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(doc: &'a str) -> Cursor<'a> {
        let mut reader = Reader::from_str(doc);
        let config = reader.config_mut();
        config.check_end_names = false;
        config.trim_text(false);
        Cursor { doc, reader }
    }

    fn position(&self) -> usize {
        usize::try_from(self.reader.buffer_position()).unwrap_or(usize::MAX)
    }

    /// The next event and its raw text; `None` at the end or on malformed XML.
    pub(super) fn next(&mut self) -> Option<(Event<'a>, &'a str)> {
        let start = self.position();
        match self.reader.read_event() {
            Ok(Event::Eof) | Err(_) => None,
            Ok(event) => Some((event, self.doc.get(start..self.position())?)),
        }
    }

    /// The raw markup inside the element just started, which is consumed.
    pub(super) fn inner(&mut self, start: &BytesStart) -> Option<&'a str> {
        let span = self.reader.read_to_end(start.name()).ok()?;
        let from = usize::try_from(span.start).ok()?;
        let to = usize::try_from(span.end).ok()?;
        self.doc.get(from..to)
    }
}

fn name_of<'b>(start: &'b BytesStart) -> &'b str {
    start.name().into_inner()
}

pub(super) fn local_of<'b>(start: &'b BytesStart) -> &'b str {
    start.local_name().into_inner()
}

fn attribute(start: &BytesStart, name: &str) -> Option<String> {
    start
        .attributes()
        .with_checks(false)
        .flatten()
        .find_map(|a| (a.key.as_ref() == name).then(|| a.value.to_string()))
}

/// `key="raw value"` for every attribute `keep` accepts, with the value it returns.
fn attributes_except(
    start: &BytesStart,
    mut keep: impl FnMut(&str, &str) -> Option<String>,
) -> String {
    let mut out = String::new();
    for a in start.attributes().with_checks(false).flatten() {
        let key = a.key.as_ref();
        if let Some(value) = keep(key, &a.value) {
            push_attribute(&mut out, key, &value);
        }
    }
    out
}

fn push_attribute(out: &mut String, key: &str, raw_value: &str) {
    let quote = if raw_value.contains('"') { '\'' } else { '"' };
    out.push_str(&format!(" {key}={quote}{raw_value}{quote}"));
}

fn escape(text: &str) -> Cow<'_, str> {
    quick_xml::escape::escape(text)
}

/// Whether the root element's own namespace is `ns`.
fn root_in_namespace(doc: &str, ns: &str) -> bool {
    let mut cursor = Cursor::new(doc);
    while let Some((event, _)) = cursor.next() {
        if let Event::Start(start) | Event::Empty(start) = event {
            let prefix = start.name().prefix().map(|p| p.into_inner());
            return attribute(&start, &declaration(prefix)).is_some_and(|v| v.trim() == ns);
        }
    }
    false
}

/// The `<rss>` start tag with a version feed-rs reads and no namespace of its
/// own, around a `<channel>` (some feeds put their items right in `<rss>`).
fn rss_root(doc: &str) -> Option<String> {
    let mut cursor = Cursor::new(doc);
    while let Some((event, raw)) = cursor.next() {
        let Event::Start(start) = event else {
            continue;
        };
        let version = attribute(&start, "version");
        let known = version
            .as_deref()
            .is_some_and(|v| RSS_VERSIONS.contains(&v.trim()));
        let namespaced = attribute(&start, "xmlns").is_some();
        let channel = memchr::memmem::find(doc.as_bytes(), b"<channel").is_some();
        if known && !namespaced && channel {
            return None;
        }
        let end = cursor.position();
        let begin = end - raw.len();
        let attributes = attributes_except(&start, |key, value| {
            (key != "version" && key != "xmlns").then(|| value.to_string())
        });
        let name = name_of(&start);
        let mut rest = doc[end..].to_string();
        if !channel {
            let close = format!("</{name}>");
            let at = rest.rfind(&close).unwrap_or(rest.len());
            rest.insert_str(at, "</channel>");
            rest.insert_str(0, "<channel>");
        }
        // 0.9x and 2.0x documents are read alike; only 0.91 and 0.92 differ in
        // feed-rs, and those are kept.
        let version = version.filter(|_| known).unwrap_or_else(|| "2.0".into());
        return Some(format!(
            "{}<{name} version=\"{version}\"{attributes}>{rest}",
            &doc[..begin]
        ));
    }
    None
}

/// Atom with every element in the Atom 1.0 namespace, `legacy` names renamed
/// (Atom 0.3 and drafts), and each text construct given a type feed-rs reads.
fn atom(doc: &str, legacy: bool) -> Option<String> {
    let mut cursor = Cursor::new(doc);
    let mut out = String::with_capacity(doc.len() + 256);
    let mut atom_prefix: Option<Option<String>> = None;
    // Names of the open elements that were renamed, to close them alike.
    let mut open: Vec<Option<String>> = Vec::new();
    while let Some((event, raw)) = cursor.next() {
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let empty = matches!(event, Event::Empty(_));
                let prefix = start.name().prefix().map(|p| p.into_inner().to_string());
                let root = atom_prefix.is_none();
                if root {
                    atom_prefix = Some(prefix.clone());
                }
                let is_atom = atom_prefix.as_ref() == Some(&prefix);
                if !is_atom {
                    if !empty {
                        open.push(None);
                    }
                    out.push_str(raw);
                    continue;
                }
                let local = local_of(start).to_string();
                let renamed = if legacy {
                    legacy_name(&local)
                } else {
                    Some(local.as_str())
                };
                let Some(renamed) = renamed else {
                    if !empty {
                        cursor.inner(start)?;
                    }
                    continue;
                };
                let qname = match &prefix {
                    Some(p) => format!("{p}:{renamed}"),
                    None => renamed.to_string(),
                };
                if TEXT_CONSTRUCTS.contains(&local.as_str()) && attribute(start, "src").is_none() {
                    if !empty {
                        let inner = cursor.inner(start)?;
                        out.push_str(&text_construct(start, &qname, inner, legacy));
                    }
                    continue;
                }
                if !root && renamed == local {
                    out.push_str(raw);
                    if !empty {
                        open.push(None);
                    }
                    continue;
                }
                let attributes = if root {
                    atom_root_attributes(start, prefix.as_deref())
                } else {
                    start.attributes_raw().to_string()
                };
                out.push_str(&format!(
                    "<{qname}{attributes}{}>",
                    if empty { "/" } else { "" }
                ));
                if !empty {
                    open.push(Some(qname));
                }
            }
            Event::End(_) => match open.pop() {
                Some(Some(qname)) => out.push_str(&format!("</{qname}>")),
                _ => out.push_str(raw),
            },
            _ => out.push_str(raw),
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The attribute that declares the namespace of elements with this prefix.
fn declaration(prefix: Option<&str>) -> String {
    match prefix {
        Some(p) => format!("xmlns:{p}"),
        None => "xmlns".to_string(),
    }
}

/// The root's attributes with its namespace made Atom 1.0's and no `version`.
fn atom_root_attributes(start: &BytesStart, prefix: Option<&str>) -> String {
    let declaration = declaration(prefix);
    attributes_except(start, |key, value| match key {
        "version" => None,
        _ if key == declaration => Some(ATOM_NS.to_string()),
        _ => Some(value.to_string()),
    })
}

/// Elements whose content is an Atom text construct (and their Atom 0.3 names).
const TEXT_CONSTRUCTS: [&str; 8] = [
    "title",
    "subtitle",
    "summary",
    "content",
    "rights",
    "tagline",
    "copyright",
    "info",
];

/// The Atom 1.0 name of an Atom 0.3 element; `None` for what 1.0 dropped.
fn legacy_name(local: &str) -> Option<&str> {
    match local {
        "issued" => Some("published"),
        "modified" => Some("updated"),
        "tagline" => Some("subtitle"),
        "copyright" => Some("rights"),
        "created" | "info" => None,
        other => Some(other),
    }
}

/// How the text of a construct is to be read.
#[derive(Debug, PartialEq)]
enum TextKind {
    Text,
    Html,
    Xhtml,
    /// Base64 of a document, shown as HTML when it is HTML, else as text.
    Base64 {
        html: bool,
    },
}

fn text_kind(kind: &str, mode: &str, inner: &str, legacy: bool) -> TextKind {
    let has_elements = inner.contains('<') && !inner.trim_start().starts_with("<![CDATA[");
    let html = kind.contains("html");
    match (kind, mode) {
        (_, "base64") => TextKind::Base64 { html },
        (_, "escaped") if html => TextKind::Html,
        (_, "escaped") => TextKind::Text,
        ("xhtml" | "application/xhtml+xml", _) => TextKind::Xhtml,
        // Atom 0.3 reads markup inline unless told it is escaped.
        ("html" | "text/html", _) if legacy && has_elements => TextKind::Xhtml,
        ("html" | "text/html", _) => TextKind::Html,
        ("" | "text" | "text/plain", _) => TextKind::Text,
        (k, _) if k.starts_with("text/") => TextKind::Text,
        (k, _) if k.ends_with("/xml") || k.ends_with("+xml") => TextKind::Xhtml,
        _ => TextKind::Base64 { html },
    }
}

/// One text construct, as Atom 1.0 that feed-rs reads; nothing for an empty one,
/// which feed-rs would refuse and a reader could not show.
fn text_construct(start: &BytesStart, qname: &str, inner: &str, legacy: bool) -> String {
    if inner.trim().is_empty() {
        return String::new();
    }
    let kind = attribute(start, "type")
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let mode = attribute(start, "mode")
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let attributes = attributes_except(start, |key, value| {
        (key != "type" && key != "mode").then(|| value.to_string())
    });
    let (kind, body) = match text_kind(&kind, &mode, inner, legacy) {
        TextKind::Text => ("text", Cow::Borrowed(inner)),
        TextKind::Html => ("html", Cow::Borrowed(inner)),
        TextKind::Xhtml => ("xhtml", Cow::Borrowed(inner)),
        TextKind::Base64 { html } => {
            let Some(decoded) = base64_text(inner) else {
                return String::new();
            };
            let body = Cow::Owned(escape(&decoded).into_owned());
            (if html { "html" } else { "text" }, body)
        }
    };
    format!("<{qname}{attributes} type=\"{kind}\">{body}</{qname}>")
}

/// The text a base64 construct holds, when it is text at all.
fn base64_text(inner: &str) -> Option<String> {
    let raw = quick_xml::escape::unescape(inner).ok()?;
    let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .ok()?;
    String::from_utf8(bytes)
        .ok()
        .filter(|t| !t.trim().is_empty())
}

/// RSS 1.0 (or a bare `<rdf>`) as RSS 2.0: the items moved into the channel,
/// each with its `rdf:about` as guid and, lacking one, as link.
fn rdf_as_rss2(doc: &str) -> Option<String> {
    let mut cursor = Cursor::new(doc);
    let mut head = String::new();
    let mut channel = String::new();
    let mut items = String::new();
    let mut depth = 0usize;
    while let Some((event, raw)) = cursor.next() {
        match event {
            Event::Start(start) if depth == 0 => {
                depth = 1;
                let attributes = attributes_except(&start, |key, value| {
                    Some(if key == "xmlns" {
                        RSS1_NS.to_string()
                    } else {
                        value.to_string()
                    })
                });
                head.push_str(&format!("<rss version=\"2.0\"{attributes}>"));
            }
            Event::Start(start) => {
                let local = local_of(&start).to_string();
                let inner = cursor.inner(&start)?;
                match local.as_str() {
                    "channel" => channel.push_str(&without_element(inner, "items")),
                    "item" => items.push_str(&rss2_item(&start, inner)),
                    _ => {}
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            _ if depth == 0 => head.push_str(raw),
            _ => {}
        }
    }
    (!head.is_empty()).then(|| format!("{head}<channel>{channel}{items}</channel></rss>"))
}

/// An RSS 2.0 `<item>` from an RSS 1.0 one: its `rdf:about` is its identity.
fn rss2_item(start: &BytesStart, inner: &str) -> String {
    let about = attribute(start, "rdf:about").or_else(|| attribute(start, "about"));
    let mut out = String::from("<item>");
    if let Some(about) = about.filter(|a| !a.trim().is_empty()) {
        out.push_str(&format!("<guid isPermaLink=\"false\">{about}</guid>"));
        if !has_element(inner, "link") {
            out.push_str(&format!("<link>{about}</link>"));
        }
    }
    out.push_str(inner);
    out.push_str("</item>");
    out
}

/// Whether `markup` has a child element with this local name, in any namespace.
fn has_element(markup: &str, local: &str) -> bool {
    let mut cursor = Cursor::new(markup);
    let mut depth = 0usize;
    while let Some((event, _)) = cursor.next() {
        match event {
            Event::Start(start) | Event::Empty(start)
                if depth == 0 && local_of(&start) == local =>
            {
                return true;
            }
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// `markup` without its child elements of this local name.
fn without_element(markup: &str, local: &str) -> String {
    let mut cursor = Cursor::new(markup);
    let mut out = String::with_capacity(markup.len());
    while let Some((event, raw)) = cursor.next() {
        match event {
            Event::Start(start) if local_of(&start) == local => {
                if cursor.inner(&start).is_none() {
                    break;
                }
            }
            Event::Empty(start) if local_of(&start) == local => {}
            _ => out.push_str(raw),
        }
    }
    out
}

/// Microsoft's Channel Definition Format as RSS 2.0: `<CHANNEL HREF>` and
/// `<ITEM HREF LASTMOD>` with `<TITLE>` and `<ABSTRACT>` children.
fn cdf_as_rss2(doc: &str) -> Option<String> {
    let mut cursor = Cursor::new(doc);
    let mut channel = String::new();
    let mut items = String::new();
    while let Some((event, _)) = cursor.next() {
        let (start, empty) = match event {
            Event::Start(start) => (start, false),
            Event::Empty(start) => (start, true),
            _ => continue,
        };
        let local = local_of(&start).to_ascii_lowercase();
        // The channel's own children are read one by one; an item's and a
        // text's content is read whole here.
        let inner = match local.as_str() {
            "item" | "title" | "abstract" if !empty => cursor.inner(&start).unwrap_or(""),
            _ => "",
        };
        let href = attribute(&start, "HREF").or_else(|| attribute(&start, "href"));
        match local.as_str() {
            "channel" => {
                if let Some(href) = href {
                    channel.push_str(&format!("<link>{href}</link>"));
                }
            }
            "item" => {
                items.push_str("<item>");
                if let Some(href) = href {
                    items.push_str(&format!("<link>{href}</link>"));
                }
                if let Some(date) =
                    attribute(&start, "LASTMOD").or_else(|| attribute(&start, "lastmod"))
                {
                    items.push_str(&format!("<pubDate>{date}</pubDate>"));
                }
                items.push_str(&cdf_texts(inner));
                items.push_str("</item>");
            }
            "title" | "abstract" if items.is_empty() => channel.push_str(&cdf_text(&local, inner)),
            _ => {}
        }
    }
    (!channel.is_empty() || !items.is_empty())
        .then(|| format!("<rss version=\"2.0\"><channel>{channel}{items}</channel></rss>"))
}

fn cdf_texts(inner: &str) -> String {
    let mut cursor = Cursor::new(inner);
    let mut out = String::new();
    while let Some((event, _)) = cursor.next() {
        if let Event::Start(start) = event {
            let local = local_of(&start).to_ascii_lowercase();
            if let Some(text) = cursor.inner(&start) {
                out.push_str(&cdf_text(&local, text));
            }
        }
    }
    out
}

fn cdf_text(local: &str, inner: &str) -> String {
    match local {
        "title" => format!("<title>{inner}</title>"),
        "abstract" => format!("<description>{inner}</description>"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_rss_root_without_a_known_version_reads_as_rss_2() {
        let doc = "<?xml version=\"1.0\"?><rss xmlns:itunes=\"i\"><channel/></rss>";
        assert_eq!(
            prepare(doc, "rss").as_deref(),
            Some("<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:itunes=\"i\"><channel/></rss>")
        );
        let userland =
            "<rss version=\"2.0\" xmlns=\"http://backend.userland.com/rss2\"><channel/></rss>";
        assert_eq!(
            prepare(userland, "rss").as_deref(),
            Some("<rss version=\"2.0\"><channel/></rss>")
        );
        assert_eq!(
            prepare("<rss version=\"2.0\"><channel/></rss>", "rss"),
            None
        );
    }

    #[test]
    fn text_kinds_follow_type_and_mode() {
        assert_eq!(
            text_kind("text/html", "escaped", "&lt;b&gt;", true),
            TextKind::Html
        );
        assert_eq!(
            text_kind("text/plain", "escaped", "a", true),
            TextKind::Text
        );
        assert_eq!(
            text_kind("text/html", "", "<b>a</b>", true),
            TextKind::Xhtml
        );
        assert_eq!(text_kind("html", "", "&lt;b&gt;", false), TextKind::Html);
        assert_eq!(
            text_kind("application/xhtml+xml", "", "<div/>", false),
            TextKind::Xhtml
        );
        assert_eq!(text_kind("", "", "a", false), TextKind::Text);
        assert_eq!(
            text_kind("application/octet-stream", "", "YQ==", false),
            TextKind::Base64 { html: false }
        );
    }

    #[test]
    fn base64_text_is_decoded_and_escaped() {
        let start = BytesStart::from_content("title type=\"application/octet-stream\"", 5);
        assert_eq!(
            text_construct(&start, "title", "PGI+QTwvYj4=", false),
            "<title type=\"text\">&lt;b&gt;A&lt;/b&gt;</title>"
        );
        assert_eq!(text_construct(&start, "title", "  ", false), "");
    }
}
