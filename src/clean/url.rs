//! Absolute and canonical URLs.

/// The canonical form of a link, used to recognise one article under many URLs.
pub fn canonical(link: &str, extra_strip: &[String]) -> Option<String> {
    let _ = (link, extra_strip);
    unimplemented!("canonical")
}
