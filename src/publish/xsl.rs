//! The stylesheet that turns a feed opened in a browser into a readable page,
//! and the processing instruction that points the feeds at it.

/// Where the stylesheet is published, relative to the output folder.
pub(crate) const PATH: &str = "feed.xsl";

/// The stylesheet itself: static, so it is the same in every build of the site.
pub(crate) const STYLESHEET: &[u8] = include_bytes!("../../assets/feed.xsl");

/// The `<?xml-stylesheet?>` instruction of a document published at `path`:
/// it goes right after the XML declaration (nothing may come before that).
/// The stylesheet is linked relatively, so it comes from the same origin as
/// the feed, which browsers require.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instruction_points_at_the_stylesheet_from_the_document() {
        assert_eq!(
            instruction("pl/feed.atom"),
            "<?xml-stylesheet type=\"text/xsl\" href=\"../feed.xsl\"?>"
        );
    }

    #[test]
    fn the_href_climbs_out_of_each_folder() {
        assert_eq!(href_from("feed.xml"), "feed.xsl");
        assert_eq!(href_from("en/feed.xml"), "../feed.xsl");
        assert_eq!(href_from("archive/2026-10.xml"), "../feed.xsl");
    }
}
