//! Summaries made ready for publishing: sanitized once, in every form the
//! formats need, and shared by every feed and page that shows them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use xxhash_rust::xxh3::xxh3_64;

use super::view::xml_safe;
use super::{atom, html, json};

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
        self.xhtml.get_or_init(|| atom::to_xhtml(&self.html))
    }

    /// The HTML escaped as the contents of a JSON string, for JSON Feed.
    pub fn json(&self) -> &str {
        self.json.get_or_init(|| json::escape_json(&self.html))
    }

    /// The start of the text as plain words, for the web page.
    pub fn excerpt(&self) -> &str {
        self.excerpt
            .get_or_init(|| html::excerpt_of(&self.html, html::EXCERPT_CHARS))
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
}
