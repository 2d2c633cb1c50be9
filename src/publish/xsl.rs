//! The stylesheet that turns a feed opened in a browser into a readable page,
//! and the processing instruction that points the feeds at it.

use super::PublishError;

/// Where the stylesheet is published, relative to the output folder.
pub(crate) const PATH: &str = "feed.xsl";

/// The stylesheet itself: static, so it is the same in every build of the site.
pub(crate) const STYLESHEET: &[u8] = include_bytes!("../../assets/feed.xsl");

/// `xml` with an `<?xml-stylesheet?>` instruction for the stylesheet, placed
/// right after the XML declaration (nothing may come before that). `path` is
/// where the document is published: the stylesheet is linked relatively, so it
/// comes from the same origin as the feed, which browsers require.
/// The document is changed in place: a feed is large, and a copy of it costs
/// more than moving its bytes along.
pub(crate) fn attach(mut xml: Vec<u8>, path: &str) -> Result<Vec<u8>, PublishError> {
    let at = declaration_end(&xml).map_err(|reason| PublishError::render(path, reason))?;
    let mut instruction = if at == 0 { "" } else { "\n" }.to_string();
    instruction.push_str(&self::instruction(path));
    // Some writers end the declaration with a line break, some do not.
    if !xml[at..].starts_with(b"\n") {
        instruction.push('\n');
    }
    xml.splice(at..at, instruction.into_bytes());
    Ok(xml)
}

/// The `<?xml-stylesheet?>` instruction of a document published at `path`.
pub(crate) fn instruction(path: &str) -> String {
    format!(
        "<?xml-stylesheet type=\"text/xsl\" href=\"{}\"?>",
        href_from(path)
    )
}

/// The stylesheet's address seen from a document at `path`: "feed.xsl" from
/// the top folder, "../feed.xsl" from "pl/feed.xml", and so on.
pub(crate) fn href_from(path: &str) -> String {
    let depth = path.matches('/').count();
    format!("{}{PATH}", "../".repeat(depth))
}

/// The byte just after the XML declaration, or 0 for a document without one.
fn declaration_end(xml: &[u8]) -> Result<usize, &'static str> {
    if !xml.starts_with(b"<?xml ") {
        return Ok(0);
    }
    xml.windows(2)
        .position(|pair| pair == b"?>")
        .map(|i| i + 2)
        .ok_or("the XML declaration is not closed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instruction_follows_the_declaration() {
        let xml = br#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"/>"#.to_vec();
        let out = attach(xml, "feed.xml").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
             <?xml-stylesheet type=\"text/xsl\" href=\"feed.xsl\"?>\n\
             <rss version=\"2.0\"/>"
        );
    }

    #[test]
    fn a_line_break_after_the_declaration_is_kept_single() {
        let out = attach(b"<?xml version=\"1.0\"?>\n<feed/>".to_vec(), "feed.atom").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<?xml version=\"1.0\"?>\n<?xml-stylesheet type=\"text/xsl\" href=\"feed.xsl\"?>\n<feed/>"
        );
    }

    #[test]
    fn a_document_without_declaration_starts_with_the_instruction() {
        let out = attach(b"<feed/>".to_vec(), "pl/feed.atom").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<?xml-stylesheet type=\"text/xsl\" href=\"../feed.xsl\"?>\n<feed/>"
        );
    }

    #[test]
    fn a_broken_declaration_is_an_error() {
        assert!(attach(b"<?xml version=\"1.0\"".to_vec(), "feed.xml").is_err());
    }

    #[test]
    fn the_href_climbs_out_of_each_folder() {
        assert_eq!(href_from("feed.xml"), "feed.xsl");
        assert_eq!(href_from("en/feed.xml"), "../feed.xsl");
        assert_eq!(href_from("archive/2026-10.xml"), "../feed.xsl");
    }
}
