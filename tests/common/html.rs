//! What a browser would see in our HTML: start tags with their attributes, as
//! html5ever's tokenizer reads them.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer};

/// A start tag's name and its attributes as (name, value) pairs.
pub type SeenTag = (String, Vec<(String, String)>);

#[derive(Default)]
struct Tags {
    seen: RefCell<Vec<SeenTag>>,
}

impl TokenSink for Tags {
    type Handle = ();
    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        if let Token::TagToken(tag) = token
            && tag.kind == TagKind::StartTag
        {
            let attrs = tag
                .attrs
                .iter()
                .map(|a| (a.name.local.to_string(), a.value.to_string()))
                .collect();
            self.seen.borrow_mut().push((tag.name.to_string(), attrs));
        }
        TokenSinkResult::Continue
    }
}

/// Start tags as a browser's tokenizer sees them.
pub fn tags_of(html: &str) -> Vec<SeenTag> {
    let tokenizer = Tokenizer::new(Tags::default(), Default::default());
    let queue = BufferQueue::default();
    queue.push_back(StrTendril::from(html));
    let _ = tokenizer.feed(&queue);
    tokenizer.end();
    tokenizer.sink.seen.into_inner()
}

/// A browser ignores whitespace and controls inside a URL's scheme.
pub fn squeezed(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase()
}
