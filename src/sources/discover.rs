//! Feed autodiscovery: the `<link rel="alternate">` feeds an HTML page points to.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer,
};

/// Media types that announce a feed.
const FEED_TYPES: &[&str] = &[
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
];

/// A feed an HTML page links to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredFeed {
    /// Absolute URL of the feed.
    pub url: String,
    pub title: Option<String>,
    /// The media type the page announced, lower-cased (e.g. `application/rss+xml`).
    pub kind: String,
}

/// The feeds linked from `html`, in page order, with hrefs resolved against `base_url`
/// (or the page's own `<base href>`).
pub fn feed_links(html: &[u8], base_url: &str) -> Vec<DiscoveredFeed> {
    let sink = LinkSink {
        base: RefCell::new(base_url.to_string()),
        found: RefCell::new(Vec::new()),
    };
    let tokenizer = Tokenizer::new(sink, Default::default());
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from(String::from_utf8_lossy(html).as_ref()));
    // The sink never asks to pause for scripts, so one feed consumes the whole input.
    let _ = tokenizer.feed(&queue);
    tokenizer.end();
    tokenizer.sink.found.into_inner()
}

struct LinkSink {
    base: RefCell<String>,
    found: RefCell<Vec<DiscoveredFeed>>,
}

impl LinkSink {
    fn start_tag(&self, tag: &Tag) -> TokenSinkResult<()> {
        match &*tag.name {
            "base" => {
                if let Some(href) = attr(tag, "href") {
                    let resolved = crate::clean::url::absolute(&href, &self.base.borrow());
                    if let Some(resolved) = resolved {
                        *self.base.borrow_mut() = resolved;
                    }
                }
            }
            "link" => self.link(tag),
            // Text that looks like a tag inside a script is not a tag.
            "script" => return TokenSinkResult::RawData(RawKind::ScriptData),
            "style" | "noscript" | "iframe" | "xmp" => {
                return TokenSinkResult::RawData(RawKind::Rawtext);
            }
            "textarea" | "title" => return TokenSinkResult::RawData(RawKind::Rcdata),
            _ => {}
        }
        TokenSinkResult::Continue
    }

    fn link(&self, tag: &Tag) {
        let is_alternate = attr(tag, "rel").is_some_and(|rel| {
            rel.split_ascii_whitespace()
                .any(|r| r.eq_ignore_ascii_case("alternate"))
        });
        let kind = attr(tag, "type").map(|t| t.trim().to_ascii_lowercase());
        let Some(kind) = kind.filter(|k| is_alternate && FEED_TYPES.contains(&k.as_str())) else {
            return;
        };
        let Some(url) =
            attr(tag, "href").and_then(|h| crate::clean::url::absolute(&h, &self.base.borrow()))
        else {
            return;
        };
        let mut found = self.found.borrow_mut();
        if found.iter().any(|f| f.url == url) {
            return;
        }
        let title = attr(tag, "title")
            .map(|t| crate::clean::html::collapse_whitespace(&t))
            .filter(|t| !t.is_empty());
        found.push(DiscoveredFeed { url, title, kind });
    }
}

fn attr(tag: &Tag, name: &str) -> Option<String> {
    tag.attrs
        .iter()
        .find(|a| &*a.name.local == name)
        .map(|a| a.value.to_string())
}

impl TokenSink for LinkSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            Token::TagToken(tag) if tag.kind == TagKind::StartTag => self.start_tag(&tag),
            _ => TokenSinkResult::Continue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_feed_links_and_resolves_them() {
        let page = br#"<!doctype html><html><head>
            <link rel="stylesheet" href="/s.css">
            <link rel="Alternate" type="application/RSS+XML" title="News &amp; more" href="/rss.xml">
            <!-- <link rel="alternate" type="application/rss+xml" href="/commented.xml"> -->
            <script>var s = '<link rel="alternate" type="application/rss+xml" href="/js.xml">';</script>
            <link rel=alternate type=application/atom+xml href="https://cdn.example.org/atom">
            <link rel="alternate" type="application/rss+xml" href="/rss.xml">
            <link rel="alternate" type="text/html" hreflang="en" href="/en/">
            </head><body></body></html>"#;
        let found = feed_links(page, "https://krakow.pl/aktualnosci/");
        assert_eq!(
            found,
            vec![
                DiscoveredFeed {
                    url: "https://krakow.pl/rss.xml".into(),
                    title: Some("News & more".into()),
                    kind: "application/rss+xml".into(),
                },
                DiscoveredFeed {
                    url: "https://cdn.example.org/atom".into(),
                    title: None,
                    kind: "application/atom+xml".into(),
                },
            ]
        );
    }

    #[test]
    fn honours_base_href() {
        let page = br#"<base href="https://other.pl/x/"><link rel="alternate" type="application/feed+json" href="feed.json">"#;
        let found = feed_links(page, "https://krakow.pl/");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].url, "https://other.pl/x/feed.json");
    }
}
