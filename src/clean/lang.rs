//! An entry's language: declared, from the feed, or detected.
