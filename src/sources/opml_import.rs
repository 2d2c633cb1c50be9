//! Reading the feeds of an OPML file, for `hejnal opml import`.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// Where `hejnal opml export` keeps what restores a source as it was
/// configured: its id and country, as OPML categories
/// (`/hejnal/id/ID,/hejnal/country/CC`). Categories, not attributes of a
/// namespace of hejnal's own, which readers and validators do not know.
pub const CATEGORY_ROOT: &str = "/hejnal/";

/// One `<outline>` with an `xmlUrl`, from any depth of the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpmlFeed {
    pub xml_url: String,
    /// `title`, else `text`.
    pub title: Option<String>,
    pub language: Option<String>,
    /// The `text` of the nearest enclosing outline that is a folder, not a
    /// feed: the city in the files hejnal writes.
    pub group: Option<String>,
    /// The id and country `hejnal opml export` wrote (see [`CATEGORY_ROOT`]).
    pub id: Option<String>,
    pub country: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum OpmlError {
    #[error("not OPML: malformed XML at byte {position}: {message}")]
    Malformed { position: u64, message: String },
    #[error("not OPML: the root element is <{0}>, not <opml>")]
    NotOpml(String),
    #[error("not OPML: no root element")]
    Empty,
}

/// Every feed outline of `text`, in file order.
pub fn feeds(text: &str) -> Result<Vec<OpmlFeed>, OpmlError> {
    let mut reader = Reader::from_str(text);
    // Each open outline: Some(text) for a folder, None for a feed with children.
    let mut open: Vec<Option<String>> = Vec::new();
    let mut seen_root = false;
    let mut found = Vec::new();
    loop {
        let event = reader.read_event().map_err(|e| OpmlError::Malformed {
            position: reader.error_position(),
            message: e.to_string(),
        })?;
        let (element, has_children) = match event {
            Event::Start(e) => (e, true),
            Event::Empty(e) => (e, false),
            Event::End(e) if e.name().as_ref() == "outline" => {
                open.pop();
                continue;
            }
            Event::Eof if seen_root => return Ok(found),
            Event::Eof => return Err(OpmlError::Empty),
            _ => continue,
        };
        if !seen_root {
            let name = element.name().as_ref().to_string();
            if name != "opml" {
                return Err(OpmlError::NotOpml(name));
            }
            seen_root = true;
        }
        if element.name().as_ref() != "outline" {
            continue;
        }
        let attrs = Attrs::of(&element, &reader)?;
        let feed = attrs.feed(&open);
        if has_children {
            open.push(feed.is_none().then(|| attrs.get("text")).flatten());
        }
        found.extend(feed);
    }
}

struct Attrs(Vec<(String, String)>);

impl Attrs {
    fn of(element: &BytesStart<'_>, reader: &Reader<&[u8]>) -> Result<Attrs, OpmlError> {
        let malformed = |message: String| OpmlError::Malformed {
            position: reader.buffer_position(),
            message,
        };
        let mut out = Vec::new();
        for attr in element.attributes() {
            let attr = attr.map_err(|e| malformed(e.to_string()))?;
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Explicit1_0)
                .map_err(|e| malformed(e.to_string()))?;
            out.push((attr.key.as_ref().to_string(), value.trim().to_string()));
        }
        Ok(Attrs(out))
    }

    fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, v)| k.eq_ignore_ascii_case(name) && !v.is_empty())
            .map(|(_, v)| v.clone())
    }

    fn feed(&self, open: &[Option<String>]) -> Option<OpmlFeed> {
        Some(OpmlFeed {
            xml_url: self.get("xmlUrl")?,
            title: self.get("title").or_else(|| self.get("text")),
            language: self.get("language"),
            group: open.iter().rev().flatten().next().cloned(),
            // Files written before the categories carry hejnal:id and hejnal:country.
            id: self.category("id").or_else(|| self.get("hejnal:id")),
            country: self
                .category("country")
                .or_else(|| self.get("hejnal:country")),
        })
    }

    /// The value of hejnal's category `/hejnal/KIND/VALUE`, if the outline has one.
    fn category(&self, kind: &str) -> Option<String> {
        let categories = self.get("category")?;
        categories.split(',').find_map(|category| {
            let rest = category.trim().strip_prefix(CATEGORY_ROOT)?;
            let value = rest.strip_prefix(kind)?.strip_prefix('/')?;
            (!value.is_empty()).then(|| value.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_feeds_at_any_depth_with_their_folder() {
        let opml = r#"<?xml version="1.0"?>
            <opml version="2.0"><head><title>x</title></head><body>
              <outline text="Wien">
                <outline text="News"><outline text="ORF &amp; more" xmlUrl="https://orf.at/wien.xml" language="de"/></outline>
              </outline>
              <outline text="Loose" title="Loose feed" xmlurl="https://loose.example/rss"/>
              <outline text="folder without feeds"/>
            </body></opml>"#;
        let found = feeds(opml).expect("valid OPML");
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].xml_url, "https://orf.at/wien.xml");
        assert_eq!(found[0].title.as_deref(), Some("ORF & more"));
        assert_eq!(found[0].group.as_deref(), Some("News"));
        assert_eq!(found[0].language.as_deref(), Some("de"));
        assert_eq!(found[1].title.as_deref(), Some("Loose feed"));
        assert_eq!(found[1].group, None);
    }

    #[test]
    fn refuses_what_is_not_opml() {
        assert!(matches!(feeds("<rss/>"), Err(OpmlError::NotOpml(n)) if n == "rss"));
        assert!(matches!(feeds(""), Err(OpmlError::Empty)));
        assert!(matches!(
            feeds("<opml><body><outline xmlUrl=\"x></body>"),
            Err(OpmlError::Malformed { .. })
        ));
    }

    #[test]
    fn entity_bombs_are_not_expanded() {
        let bomb = r#"<?xml version="1.0"?>
            <!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
            <opml version="2.0"><body><outline text="&b;" xmlUrl="https://x.example/&b;"/></body></opml>"#;
        assert!(matches!(feeds(bomb), Err(OpmlError::Malformed { .. })));
    }
}
