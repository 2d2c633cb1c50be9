//! OPML 2.0 list of the enabled sources, one outline per city.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::PublishError;
use super::escape::{title_safe, xml_safe};
use super::view::site_of;
use crate::config::{Config, SourceConfig};
use crate::sources::opml_import::CATEGORY_ROOT;

/// The group of sources with no city.
const NO_CITY: &str = "Other";

pub(crate) fn render(config: &Config, home: &url::Url) -> Result<Vec<u8>, PublishError> {
    write(config, home).map_err(|e| PublishError::render("sources.opml", e))
}

fn write(config: &Config, home: &url::Url) -> std::io::Result<Vec<u8>> {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let title = xml_safe(&config.publisher.title);
    let owner = home.to_string();
    writer
        .create_element("opml")
        .with_attribute(("version", "2.0"))
        .write_inner_content(|w| {
            w.create_element("head").write_inner_content(|w| {
                w.create_element("title")
                    .write_text_content(BytesText::new(&title))?;
                w.create_element("ownerId")
                    .write_text_content(BytesText::new(&owner))?;
                Ok(())
            })?;
            w.create_element("body").write_inner_content(|w| {
                for (city, sources) in by_city(config) {
                    let city = title_safe(&city);
                    // A folder has only `text`: OPML 2.0 wants a `type`
                    // on any outline that says more.
                    w.create_element("outline")
                        .with_attribute(("text", city.as_str()))
                        .write_inner_content(|w| sources.iter().try_for_each(|s| outline(w, s)))?;
                }
                Ok(())
            })?;
            Ok(())
        })?;
    let mut bytes = writer.into_inner();
    bytes.push(b'\n');
    Ok(bytes)
}

fn outline(w: &mut Writer<Vec<u8>>, source: &SourceConfig) -> std::io::Result<()> {
    // Readers and validators take outline text for HTML.
    let name = title_safe(&source.name);
    let xml_url = xml_safe(&source.url);
    let mut element = w
        .create_element("outline")
        .with_attribute(("type", "rss"))
        .with_attribute(("text", name.as_str()))
        .with_attribute(("title", name.as_str()))
        .with_attribute(("xmlUrl", xml_url.as_str()));
    let site = site_of(&xml_url);
    if let Some(site) = &site {
        element = element.with_attribute(("htmlUrl", site.as_str()));
    }
    let mut category = format!("{CATEGORY_ROOT}id/{}", source.id);
    let country = xml_safe(&source.country);
    if !country.trim().is_empty() && !country.contains([',', '/']) {
        category.push_str(&format!(",{CATEGORY_ROOT}country/{}", country.trim()));
    }
    element
        .with_attribute(("language", source.lang.as_str()))
        .with_attribute(("category", category.as_str()))
        .write_empty()?;
    Ok(())
}

/// Enabled sources grouped by city, cities in the order feeds.toml first names them.
fn by_city(config: &Config) -> Vec<(String, Vec<&SourceConfig>)> {
    let mut groups: Vec<(String, Vec<&SourceConfig>)> = Vec::new();
    for source in config.enabled_sources() {
        let city = match source.city.trim() {
            "" => NO_CITY.to_string(),
            city => xml_safe(city),
        };
        match groups.iter_mut().find(|(name, _)| *name == city) {
            Some((_, members)) => members.push(source),
            None => groups.push((city, vec![source])),
        }
    }
    groups
}
