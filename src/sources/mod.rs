//! Where a webmaster finds feeds to add: the feed links of a web page and the
//! feeds of an OPML file.

pub mod discover;
pub mod opml_import;
